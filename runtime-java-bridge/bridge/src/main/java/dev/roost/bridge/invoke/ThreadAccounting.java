package dev.roost.bridge.invoke;

import java.lang.management.ManagementFactory;

/**
 * CPU time and allocated bytes per thread, from HotSpot's ThreadMXBean: exact
 * for the invoking thread, which is what a Java invocation is measured by.
 */
public final class ThreadAccounting {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private ThreadAccounting() {}

  public static long cpuNanos() {
    return THREADS.getCurrentThreadCpuTime();
  }

  public static long allocatedBytes() {
    return THREADS.getCurrentThreadAllocatedBytes();
  }

  /** Of another thread (for an invocation that timed out); -1 if it has ended. */
  public static long cpuNanos(Thread thread) {
    return THREADS.getThreadCpuTime(thread.getId());
  }

  public static long allocatedBytes(Thread thread) {
    return THREADS.getThreadAllocatedBytes(thread.getId());
  }
}
