package dev.roost.bridge.warmup;

import com.google.protobuf.ByteString;
import dev.roost.bridge.BridgeLog;
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
  static final String SANDBOX_ID = "roost-system/bridge-warmup";
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

  static void inProcess(Sandboxes sandboxes) {
    Path jar = bridgeJar();
    if (jar == null) return;
    try {
      sandboxes.load(loadRequest(SANDBOX_ID, jar));
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
