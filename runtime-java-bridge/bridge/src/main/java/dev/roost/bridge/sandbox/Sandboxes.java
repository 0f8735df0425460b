package dev.roost.bridge.sandbox;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.BridgeLog;
import dev.roost.bridge.BridgeThreads;
import dev.roost.bridge.ErrorCode;
import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.handler.HandlerSpec;
import dev.roost.bridge.invoke.Watchdog;
import dev.roost.bridge.loader.FunctionClassLoader;
import dev.roost.bridge.loader.LoaderTracker;
import dev.roost.bridge.logs.SandboxLog;
import dev.roost.v1alpha1.BridgeEvent;
import dev.roost.v1alpha1.BridgeInvokeRequest;
import dev.roost.v1alpha1.InvokeResponse;
import dev.roost.v1alpha1.LoadRequest;
import dev.roost.v1alpha1.LogLevel;
import dev.roost.v1alpha1.SandboxFailure;
import dev.roost.v1alpha1.UnloadRequest;
import dev.roost.v1alpha1.UnloadResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * The Sandboxes loaded in this JVM, by id, and the three things done to them:
 * load, invoke, unload. A function that runs out of memory or will not stop
 * after a timeout is failed here: a SandboxFailure event tells the sidecar,
 * and the function is unloaded at once on the lifecycle thread.
 */
public final class Sandboxes implements Invocation.Failures {
  public static final String OOM_KILLED = "OOMKilled";
  public static final String STUCK = "Stuck";

  private final ConcurrentHashMap<String, Sandbox> byId = new ConcurrentHashMap<>();
  private final EventHub events;
  private final Watchdog watchdog;
  private final LoaderTracker tracker = new LoaderTracker();
  private final int maxQueued;
  private final ExecutorService lifecycle =
Executors.newSingleThreadExecutor(BridgeThreads.factory("roost-bridge-lifecycle"));

  public Sandboxes(EventHub events, Watchdog watchdog, int maxQueued) {
    this.events = events;
    this.watchdog = watchdog;
    this.maxQueued = maxQueued;
    OomReserve.arm();
  }

  /** Loads a function into a new class loader and makes its health call; returns the time taken in ms. */
  public double load(LoadRequest request) throws BridgeError {
    long start = System.nanoTime();
    try {
      loadSandbox(request);
    } catch (BridgeError e) {
      throw new BridgeError(e.code(), "Cannot load Sandbox " + request.getSandboxId() + ": " + e.getMessage(), e.getCause());
    }
    return (System.nanoTime() - start) / 1e6;
  }

  private void loadSandbox(LoadRequest request) throws BridgeError {
    SandboxId id = SandboxId.parse(request.getSandboxId());
    HandlerSpec handler = HandlerSpec.parse(request.getHandler());
    Path jar = jarPath(request.getJarPath());
    Sandbox sandbox =
        new Sandbox(id, SandboxSpec.of(request, id, maxQueued), new SandboxLog(id.namespace(), id.name(), events));
    Sandbox existing = byId.putIfAbsent(id.toString(), sandbox);
    if (existing != null)
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_SANDBOX_EXISTS,
          "it is already loaded (" + existing.state().name().toLowerCase() + "); unload it first");
    try {
      sandbox.load(jar, handler, oom -> outOfMemory(sandbox, oom));
    } catch (BridgeError | RuntimeException | Error e) {
      sandbox.abandonLoad();
      SandboxRelease.release(sandbox, 0, tracker);
      byId.remove(id.toString(), sandbox);
      throw e;
    }
  }

  /** Queues the call; {@code reply} gets the one InvokeResponse once the function has run (or failed to). */
  public void invoke(BridgeInvokeRequest request, Consumer<InvokeResponse> reply) throws BridgeError {
    Sandbox sandbox = find(request.getSandboxId());
    long timeoutMs = request.getTimeoutMs() > 0 ? request.getTimeoutMs() : sandbox.spec.timeoutMs();
    sandbox.submit(
        new Invocation(sandbox, request.getRequestId(), request.getPayload().toByteArray(), timeoutMs, reply, watchdog, this));
  }

  /** Stops routing, waits up to grace_ms for in-flight calls, then releases the loader. */
  public UnloadResponse unload(UnloadRequest request) throws BridgeError {
    Sandbox sandbox = find(request.getSandboxId());
    if (sandbox.state() == Sandbox.State.LOADING)
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_SANDBOX_NOT_READY, "Sandbox " + sandbox.id + " is still loading; unload it once Load returns");
    SandboxRelease.Report report = sandbox.beginUnload() ? finishUnload(sandbox, request.getGraceMs()) : awaitRelease(sandbox);
    return UnloadResponse.newBuilder().addAllStoppedThreads(report.stoppedThreads()).build();
  }

  /** Sandboxes ready to take invocations. */
  public int ready() {
    int n = 0;
    for (Sandbox sandbox : byId.values()) if (sandbox.state() == Sandbox.State.READY) n++;
    return n;
  }

  public int uncollectedLoaders() {
    return tracker.uncollected();
  }

  /** On shutdown: unload everything briefly, so function threads end before the JVM does. */
  public void unloadAll(long graceMs) {
    for (Sandbox sandbox : new ArrayList<>(byId.values())) if (sandbox.beginUnload()) finishUnload(sandbox, graceMs);
    lifecycle.shutdownNow();
  }

  @Override
  public void outOfMemory(Sandbox sandbox, OutOfMemoryError error) {
    fail(sandbox, OOM_KILLED, "the function ran out of memory (" + error.getMessage() + ") and was unloaded");
  }

  @Override
  public void stuck(Sandbox sandbox, String message) {
    fail(sandbox, STUCK, message + "; the function was unloaded");
  }

  private void fail(Sandbox sandbox, String reason, String message) {
    if (!sandbox.beginUnload()) return;
    BridgeLog.warn("Sandbox " + sandbox.id + " failed: " + reason + ": " + message);
    sandbox.log.bridgeNotice(LogLevel.LOG_LEVEL_ERROR, reason + ": " + message);
    events.publish(
        BridgeEvent.newBuilder()
            .setFailure(
                SandboxFailure.newBuilder().setSandboxId(sandbox.id.toString()).setReason(reason).setMessage(message))
            .build());
    lifecycle.execute(
        () -> {
          finishUnload(sandbox, 0);
          if (reason.equals(OOM_KILLED)) {
            // Reclaim what the function held now, so its neighbours get their heap back.
            System.gc();
            OomReserve.rearm();
          }
        });
  }

  private SandboxRelease.Report finishUnload(Sandbox sandbox, long graceMs) {
    SandboxRelease.Report report;
    try {
      report = SandboxRelease.release(sandbox, graceMs, tracker);
    } catch (RuntimeException | Error e) {
      BridgeLog.error("Sandbox " + sandbox.id + ": unloading failed", e);
      report = new SandboxRelease.Report(java.util.List.of(), java.util.List.of());
    }
    byId.remove(sandbox.id.toString(), sandbox);
    sandbox.released.complete(report);
    return report;
  }

  private static SandboxRelease.Report awaitRelease(Sandbox sandbox) throws BridgeError {
    try {
      return sandbox.released.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BridgeError(ErrorCode.ROOST_JAVA_SANDBOX_NOT_READY, "interrupted while Sandbox " + sandbox.id + " unloads");
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private Sandbox find(String sandboxId) throws BridgeError {
    Sandbox sandbox = byId.get(sandboxId);
    if (sandbox == null)
      throw new BridgeError(ErrorCode.ROOST_JAVA_SANDBOX_NOT_FOUND, "Sandbox " + sandboxId + " is not loaded in this bridge");
    return sandbox;
  }

  private static Path jarPath(String text) throws BridgeError {
    if (text.isEmpty()) throw new BridgeError(ErrorCode.ROOST_JAVA_BAD_REQUEST, "jar_path is empty");
    Path path = Path.of(text);
    if (!FunctionClassLoader.isReadableFile(path))
      throw new BridgeError(ErrorCode.ROOST_JAVA_JAR_NOT_FOUND, path + " is not a readable file");
    return path;
  }
}
