package dev.roost.bridge.invoke;

import dev.roost.bridge.BridgeLog;
import dev.roost.bridge.BridgeThreads;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** One bridge thread that fires invocation timeouts and the steps that follow them. */
public final class Watchdog {
  private final ScheduledThreadPoolExecutor timer;

  public Watchdog() {
    timer =
        new ScheduledThreadPoolExecutor(
            1,
BridgeThreads.factory("roost-bridge-watchdog"));
    // Cancelled timeouts (the common case) must not stay queued holding their invocation.
    timer.setRemoveOnCancelPolicy(true);
  }

  /** Runs {@code action} after the delay; a failure is logged, never lost in the future. */
  public ScheduledFuture<?> after(long delayMs, Runnable action) {
    return timer.schedule(
        () -> {
          try {
            action.run();
          } catch (RuntimeException | Error e) {
            BridgeLog.error("a timeout step failed", e);
          }
        },
        delayMs,
        TimeUnit.MILLISECONDS);
  }

  public void shutdown() {
    timer.shutdownNow();
  }
}
