package dev.roost.bridge;

import dev.roost.bridge.logs.LoggingThreadGroup;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.FutureTask;

/**
 * The thread factory of the JVM-wide common ForkJoinPool (installed through
 * java.util.concurrent.ForkJoinPool.common.threadFactory before the pool
 * exists). The pool adds workers when tasks are submitted, often from a
 * function's thread, and on JDK 17 a worker joins its creator's thread group:
 * such a shared worker would be taken for the function's and stopped when it
 * is unloaded. So a worker needed by a function's thread is created on a
 * bridge thread instead.
 */
public final class CommonPoolThreads implements ForkJoinPool.ForkJoinWorkerThreadFactory {
  public static final String PROPERTY = "java.util.concurrent.ForkJoinPool.common.threadFactory";

  @Override
  public ForkJoinWorkerThread newThread(ForkJoinPool pool) {
    if (!(Thread.currentThread().getThreadGroup() instanceof LoggingThreadGroup)) return new Worker(pool);
    FutureTask<ForkJoinWorkerThread> create = new FutureTask<>(() -> new Worker(pool));
    BridgeThreads.daemon("roost-bridge-pool-maker", create).start();
    try {
      return create.get();
    } catch (Exception e) {
      return null; // The pool copes with a factory that cannot make a thread now.
    }
  }

  private static final class Worker extends ForkJoinWorkerThread {
    Worker(ForkJoinPool pool) {
      super(pool);
      setContextClassLoader(ClassLoader.getSystemClassLoader());
    }
  }
}
