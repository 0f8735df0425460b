package dev.roost.bridge.unload;

import dev.roost.bridge.invoke.HardStop;
import java.util.ArrayList;
import java.util.List;

/**
 * Ends the threads a function left behind: an interrupt first (a well-behaved
 * thread returns), then, for those still alive after a short wait, a hard stop.
 */
public final class ThreadStopper {
  static final long INTERRUPT_WAIT_MS = 100;
  static final long STOP_WAIT_MS = 1_000;

  /** The threads that needed a hard stop, and those still alive after it (they keep the loader alive). */
  public record Result(List<Thread> stopped, List<Thread> survivors) {}

  private ThreadStopper() {}

  public static Result stop(List<Thread> threads) {
    List<Thread> stopped = new ArrayList<>();
    List<Thread> survivors = new ArrayList<>();
    if (threads.isEmpty()) return new Result(stopped, survivors);
    for (Thread thread : threads) thread.interrupt();
    joinAll(threads, INTERRUPT_WAIT_MS);
    List<Thread> stubborn = new ArrayList<>();
    for (Thread thread : threads) {
      if (!thread.isAlive()) continue;
      stubborn.add(thread);
      stopped.add(thread);
      HardStop.stop(thread);
    }
    joinAll(stubborn, STOP_WAIT_MS);
    for (Thread thread : stubborn) if (thread.isAlive()) survivors.add(thread);
    return new Result(stopped, survivors);
  }

  private static void joinAll(List<Thread> threads, long budgetMs) {
    long deadline = System.nanoTime() + budgetMs * 1_000_000;
    for (Thread thread : threads) {
      long leftMs = (deadline - System.nanoTime()) / 1_000_000;
      if (leftMs <= 0) return;
      try {
        thread.join(leftMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
