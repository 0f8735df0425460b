package dev.roost.bridge;

import dev.roost.bridge.warmup.Warmup;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The run that records the AppCDS archive at build time: a start like the real
 * one, the warm-up, and a round of real gRPC calls from a client in this JVM
 * (so the server's request path is recorded too), then exit.
 */
final class Training {
  private Training() {}

  static int run(BridgeOptions options) {
    Path dir = null;
    Bridge bridge = null;
    try {
      dir = Files.createTempDirectory("roost-bridge-training");
      Path socket = dir.resolve("bridge.sock");
      bridge = Bridge.start(socket, 0, options.secret(), options.maxQueued());
      Warmup.train(bridge.sandboxes(), socket, options.secret());
      return 0;
    } catch (Exception e) {
      BridgeLog.error("training run failed", e);
      return 1;
    } finally {
      if (bridge != null) bridge.stop();
      if (dir != null) dir.toFile().delete();
    }
  }
}
