package dev.roost.bridge;

import dev.roost.bridge.logs.OutputRouter;
import dev.roost.bridge.warmup.Warmup;
import java.io.IOException;

/**
 * Starts the bridge and prints one line when it serves:
 * {@code roost-java-bridge ready <target> <startup ms>}, where target is what a
 * gRPC client dials (unix:/path or 127.0.0.1:port) and startup is the time
 * since the process was spawned (from -Droost.bridge.spawnedAtMs when the
 * parent passes it, else from the process start time, to 10 ms).
 *
 * <p>Exit codes: 0 stopped, 1 could not serve, 2 bad arguments or environment.
 */
public final class Main {
  /** Enough Load cycles for C1 to compile the Load path (see {@link Warmup#compileInBackground}). */
  private static final int WARMUP_ROUNDS = 300;

  private Main() {}

  public static void main(String[] args) throws Exception {
    // Before anything can create the common pool.
    System.setProperty(CommonPoolThreads.PROPERTY, CommonPoolThreads.class.getName());
    OutputRouter.RealStreams real = OutputRouter.install();
    BridgeLog.useStream(real.err());
    BridgeOptions options;
    try {
      options = BridgeOptions.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      real.err().println("roost-java-bridge: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (options.train()) {
      System.exit(Training.run(options));
      return;
    }
    Bridge bridge;
    try {
      if (options.secretFile() != null) SecretFile.clear(options.secretFile());
      bridge = Bridge.start(options.socketPath(), options.port(), options.secret(), options.maxQueued());
    } catch (IOException e) {
      String where = options.socketPath() != null ? options.socketPath().toString() : "127.0.0.1:" + options.port();
      real.err().println("roost-java-bridge: cannot serve on " + where + ": " + e.getMessage());
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(BridgeThreads.daemon("roost-bridge-shutdown", bridge::stop));
    if (options.exitOnStdinClose()) ParentWatch.exitWhenStdinCloses(real.in());
    if (options.parentPid() > 0) ParentWatch.exitWhenParentDies(options.parentPid());
    Runnable warmup = () -> Warmup.run(bridge.sandboxes());
    if (options.warmup() == BridgeOptions.Warmup.BEFORE) warmup.run();
    if (options.secretFile() != null) {
      try {
        SecretFile.publish(options.secretFile(), options.secret());
      } catch (IOException e) {
        real.err().println("roost-java-bridge: cannot write its secret to " + options.secretFile() + ": " + e.getMessage());
        bridge.stop();
        System.exit(1);
        return;
      }
    }
    real.out().println("roost-java-bridge ready " + bridge.target() + " " + startupMs());
    real.out().flush();
    if (options.warmup() == BridgeOptions.Warmup.AFTER) {
      BridgeThreads.daemon("roost-bridge-warmup", warmup).start();
    }
    if (options.warmup() != BridgeOptions.Warmup.OFF) Warmup.compileInBackground(bridge.sandboxes(), WARMUP_ROUNDS);
    bridge.awaitStop();
  }

  private static long startupMs() {
    long now = System.currentTimeMillis();
    String spawnedAt = System.getProperty("roost.bridge.spawnedAtMs");
    if (spawnedAt != null) {
      try {
        return now - Long.parseLong(spawnedAt);
      } catch (NumberFormatException ignored) {
        // Fall back to the process start time.
      }
    }
    return ProcessHandle.current().info().startInstant().map(start -> now - start.toEpochMilli()).orElse(-1L);
  }
}
