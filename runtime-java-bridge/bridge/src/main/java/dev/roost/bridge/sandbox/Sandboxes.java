package dev.roost.bridge.sandbox;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.BridgeLog;
import dev.roost.bridge.BridgeThreads;
import dev.roost.bridge.ErrorCode;
import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.handler.HandlerAdapter;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
  /** Ids of the bridge's own Sandboxes (its warm-up), which are not counted as loaded. */
  public static final String OWN_PREFIX = "roost-system/bridge-";

  private final ConcurrentHashMap<String, Sandbox> byId = new ConcurrentHashMap<>();
  /** Loads of real functions whose health call has not ended yet; the background warm-up gives way to them. */
  private final AtomicInteger loading = new AtomicInteger();
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

  /** What a Load hears, once: the time it took in ms, or why it failed. */
  public interface LoadReply {
    void loaded(double loadMs);

    void failed(BridgeError error);
  }

  /**
   * Loads a function into a new class loader and makes its health call. What
   * can be checked at once (the request, the jar) throws here; the outcome of
   * the health call goes to {@code reply} from the function's own thread, or
   * from the lifecycle thread once a failed or timed-out load has been given
   * up. No bridge thread waits on a function's constructor, and a plug costs
   * no hand-over to a waiting thread and back (measured in BENCHMARKS.md).
   */
  public void load(LoadRequest request, LoadReply reply) throws BridgeError {
    long start = System.nanoTime();
    try {
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
      PendingLoad pending = new PendingLoad(sandbox, handler, start, reply);
      pending.counted = !id.toString().startsWith(OWN_PREFIX);
      if (pending.counted) loading.incrementAndGet();
      // Armed first, so that the health call, however quick, always finds it to cancel.
      pending.timeout = watchdog.after(sandbox.spec.timeoutMs(), pending::timedOut);
      try {
        sandbox.startLoad(jar, handler, oom -> outOfMemory(sandbox, oom), pending);
      } catch (BridgeError | RuntimeException | Error e) {
        pending.settled.set(true);
        pending.ended();
        abandon(sandbox);
        throw e;
      }
    } catch (BridgeError e) {
      throw loadError(request.getSandboxId(), e);
    }
  }

  /** {@link #load}, waiting for its outcome: for the bridge's own warm-up. */
  public double loadAndWait(LoadRequest request) throws BridgeError, InterruptedException {
    CompletableFuture<Double> done = new CompletableFuture<>();
    load(
        request,
        new LoadReply() {
          @Override
          public void loaded(double loadMs) {
            done.complete(loadMs);
          }

          @Override
          public void failed(BridgeError error) {
            done.completeExceptionally(error);
          }
        });
    try {
      return done.get();
    } catch (ExecutionException e) {
      throw (BridgeError) e.getCause();
    }
  }

  /**
   * A Load whose health call runs. Exactly one of its three endings answers:
   * the handler resolved, the call threw, or the function's timeout passed.
   */
  private final class PendingLoad implements Sandbox.HealthCall {
    final AtomicBoolean settled = new AtomicBoolean();
    volatile ScheduledFuture<?> timeout;
    boolean counted;
    private final Sandbox sandbox;
    private final HandlerSpec handler;
    private final long start;
    private final LoadReply reply;

    PendingLoad(Sandbox sandbox, HandlerSpec handler, long start, LoadReply reply) {
      this.sandbox = sandbox;
      this.handler = handler;
      this.start = start;
      this.reply = reply;
    }

    @Override
    public void resolved(HandlerAdapter adapter) {
      if (!settled.compareAndSet(false, true)) return;
      ended();
      sandbox.becomeReady(adapter);
      reply.loaded((System.nanoTime() - start) / 1e6);
    }

    @Override
    public void failed(Throwable error) {
      if (!settled.compareAndSet(false, true)) return;
      ended();
      giveUp(
          error instanceof BridgeError bridgeError
              ? bridgeError
              : new BridgeError(
                  ErrorCode.ROOST_JAVA_CONSTRUCTOR_THREW, "loading " + handler + " failed: " + error, error));
    }

    void timedOut() {
      if (!settled.compareAndSet(false, true)) return;
      ended();
      giveUp(
          new BridgeError(
              ErrorCode.ROOST_JAVA_LOAD_TIMEOUT,
              "creating " + handler.className() + " took longer than the function's timeout of "
                  + sandbox.spec.timeoutMs() + " ms"));
    }

    /** Once, by whichever ending settled it. */
    void ended() {
      ScheduledFuture<?> armed = timeout;
      if (armed != null) armed.cancel(false);
      if (counted) loading.decrementAndGet();
    }

    /**
     * Released on the lifecycle thread (the function's own thread may be the
     * caller, and the release stops the function's threads), and answered
     * after, so that a Load again under the same id finds it gone.
     */
    private void giveUp(BridgeError error) {
      lifecycle.execute(
          () -> {
            abandon(sandbox);
            reply.failed(loadError(sandbox.id.toString(), error));
          });
    }
  }

  /** Releases what a load that failed half-way holds, and forgets it. */
  private void abandon(Sandbox sandbox) {
    sandbox.abandonLoad();
    SandboxRelease.release(sandbox, 0, tracker);
    byId.remove(sandbox.id.toString(), sandbox);
  }

  private static BridgeError loadError(String sandboxId, BridgeError e) {
    return new BridgeError(e.code(), "Cannot load Sandbox " + sandboxId + ": " + e.getMessage(), e.getCause());
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

  /** Whether a function's Load is under way (its health call running). */
  public boolean loading() {
    return loading.get() > 0;
  }

  /** Sandboxes ready to take invocations. */
  public int ready() {
    int n = 0;
    for (Sandbox sandbox : byId.values())
      if (sandbox.state() == Sandbox.State.READY && !sandbox.id.toString().startsWith(OWN_PREFIX)) n++;
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
