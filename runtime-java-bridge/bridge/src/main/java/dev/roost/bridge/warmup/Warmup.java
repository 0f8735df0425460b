package dev.roost.bridge.warmup;

import com.google.protobuf.ByteString;
import dev.roost.bridge.BridgeLog;
import dev.roost.bridge.BridgeThreads;
import dev.roost.bridge.sandbox.Sandboxes;
import dev.roost.v1alpha1.BridgeInvokeRequest;
import dev.roost.v1alpha1.InvokeResponse;
import dev.roost.v1alpha1.LoadRequest;
import dev.roost.v1alpha1.UnloadRequest;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link WarmupFunction} through Load, Invoke and Unload inside the bridge,
 * so the first real Sandbox finds those paths' classes loaded and initialised.
 */
public final class Warmup {
  static final String SANDBOX_ID = Sandboxes.OWN_PREFIX + "warmup";
  static final String BACKGROUND_ID = Sandboxes.OWN_PREFIX + "warmup-background";
  static final String PAYLOAD = "{\"name\":\"warmup\",\"count\":1,\"tags\":[\"a\",\"b\"]}";

  private Warmup() {}

  /**
   * Runs the warm-up function in-process. (A round over the real socket too was
   * measured: it costs the start ~250 ms of gRPC client start-up to save ~110 ms
   * of the server's first connection, which the sidecar's own first Health call
   * pays at start anyway.)
   */
  public static void run(Sandboxes sandboxes) {
    inProcess(sandboxes);
  }

  /** For the training run: in-process, then over the socket, so both paths are in the archive. */
  public static void train(Sandboxes sandboxes, Path socket, String secret) throws InterruptedException {
    inProcess(sandboxes);
    SelfClient.exercise(socket, secret, 5);
  }

  /**
   * Plugs made rarely run the Load path mostly interpreted: C1 compiles a method
   * only after some 200 calls (Tier3InvocationThreshold), so in a bridge that
   * has loaded a few dozen functions every Load still interprets most of its
   * path and feeds the compiler besides (measured: about 10 ms of CPU per Load
   * over its first hundred Loads, half of it the JIT's, against about 6 once
   * past 300; BENCHMARKS.md). After the ready line, on a thread of its own,
   * this runs the whole cycle (Load, Invoke, Unload) of a small jar
   * {@code rounds} times, so the plugs the bridge serves find it compiled.
   * A plug that comes meanwhile is served at once, and the warm-up waits while
   * it loads (the compiler threads it set to work may still share the CPU).
   */
  public static void compileInBackground(Sandboxes sandboxes, int rounds) {
    Thread thread =
        BridgeThreads.daemon(
            "roost-bridge-warmup",
            () -> {
              Path dir = null;
              try {
                dir = Files.createTempDirectory("roost-bridge-warmup-");
                // The bridge may stop mid-warm-up (a daemon thread's finally
                // does not run then): the JVM's exit removes the jar, then its
                // directory (deleteOnExit goes in reverse order).
                dir.toFile().deleteOnExit();
                Path jar = SmallJar.write(dir.resolve("warmup.jar"), WarmupFunction.class, WarmupFunction.Event.class);
                jar.toFile().deleteOnExit();
                for (int i = 0; i < rounds && !Thread.currentThread().isInterrupted(); i++) {
                  // A real plug goes first: wait while one loads.
                  while (sandboxes.loading()) Thread.sleep(5);
                  cycle(sandboxes, BACKGROUND_ID, jar);
                  Thread.sleep(1);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (Exception e) {
                BridgeLog.warn("background warm-up stopped (the bridge works, its Loads stay slower): " + e);
              } finally {
                SmallJar.delete(dir);
              }
            });
    thread.setPriority(Thread.MIN_PRIORITY);
    thread.start();
  }

  /** Load, one Invoke, Unload. */
  private static void cycle(Sandboxes sandboxes, String sandboxId, Path jar) throws Exception {
    sandboxes.loadAndWait(loadRequest(sandboxId, jar));
    try {
      CompletableFuture<InvokeResponse> answer = new CompletableFuture<>();
      sandboxes.invoke(invokeRequest(sandboxId, "warmup"), answer::complete);
      answer.get(10, TimeUnit.SECONDS);
    } finally {
      sandboxes.unload(UnloadRequest.newBuilder().setSandboxId(sandboxId).build());
    }
  }

  static void inProcess(Sandboxes sandboxes) {
    Path jar = bridgeJar();
    if (jar == null) return;
    try {
      sandboxes.loadAndWait(loadRequest(SANDBOX_ID, jar));
      for (int i = 0; i < 3; i++) {
        CompletableFuture<InvokeResponse> answer = new CompletableFuture<>();
        sandboxes.invoke(invokeRequest(SANDBOX_ID, "warmup-" + i), answer::complete);
        answer.get(10, TimeUnit.SECONDS);
      }
      sandboxes.unload(UnloadRequest.newBuilder().setSandboxId(SANDBOX_ID).build());
    } catch (Exception e) {
      BridgeLog.warn("warm-up failed (the bridge works, its first Load is slower): " + e);
    }
  }

  public static LoadRequest loadRequest(String sandboxId, Path jar) {
    return LoadRequest.newBuilder()
        .setSandboxId(sandboxId)
        .setJarPath(jar.toString())
        .setHandler(WarmupFunction.class.getName())
        .setTimeoutMs(10_000)
        .putEnv("HOME", "/nonexistent")
        .build();
  }

  public static BridgeInvokeRequest invokeRequest(String sandboxId, String requestId) {
    return BridgeInvokeRequest.newBuilder()
        .setSandboxId(sandboxId)
        .setRequestId(requestId)
        .setPayload(ByteString.copyFrom(PAYLOAD, StandardCharsets.UTF_8))
        .build();
  }

  /** The jar the bridge runs from; null when it runs from a classes directory (unit tests). */
  public static Path bridgeJar() {
    try {
      Path location = Path.of(Warmup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return Files.isRegularFile(location) ? location : null;
    } catch (URISyntaxException | RuntimeException e) {
      return null;
    }
  }
}
