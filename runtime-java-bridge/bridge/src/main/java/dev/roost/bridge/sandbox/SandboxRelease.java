package dev.roost.bridge.sandbox;

import dev.roost.bridge.BridgeLog;
import dev.roost.bridge.loader.FunctionClassLoader;
import dev.roost.bridge.loader.LoaderTracker;
import dev.roost.bridge.unload.JdbcDriverRelease;
import dev.roost.bridge.unload.LeakCleaner;
import dev.roost.bridge.unload.ThreadStopper;
import dev.roost.v1alpha1.LogLevel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Unloading, in the order that lets the loader be collected: stop taking work,
 * let what runs finish (up to the grace period), end every thread of the
 * function, take back what it registered with the JVM (shutdown hooks, JDBC
 * drivers), clear what other threads still hold of it (context class loaders,
 * thread locals), drop the handler, mapper and executor, and close the loader.
 */
final class SandboxRelease {
  private static final ClassLoader BRIDGE = SandboxRelease.class.getClassLoader();

  /** What unloading had to do beyond the ordinary; reported to the caller. */
  record Report(List<String> stoppedThreads, List<String> survivingThreads) {}

  private SandboxRelease() {}

  static Report release(Sandbox sandbox, long graceMs, LoaderTracker tracker) {
    ThreadPoolExecutor executor = sandbox.executor;
    FunctionClassLoader loader = sandbox.loader;
    FunctionThreadGroup group = sandbox.threads;
    if (executor != null) drain(sandbox, executor, graceMs);
    List<String> stopped = new ArrayList<>();
    List<String> survivors = new ArrayList<>();
    if (group != null) {
      List<Thread> left = group.liveThreads();
      for (Thread thread : left) if (!(thread instanceof Sandbox.Worker)) stopped.add(thread.getName());
      ThreadStopper.Result result = ThreadStopper.stop(left);
      for (Thread thread : result.survivors()) survivors.add(thread.getName());
      if (!stopped.isEmpty())
        sandbox.log.bridgeNotice(
            LogLevel.LOG_LEVEL_WARN, "stopped " + stopped.size() + " thread(s) the function left running: " + String.join(", ", stopped));
      if (!survivors.isEmpty())
        sandbox.log.bridgeNotice(
            LogLevel.LOG_LEVEL_ERROR, "thread(s) would not stop and keep the function in memory: " + String.join(", ", survivors));
    }
    if (loader != null) {
      loader.removeShutdownHooks();
      JdbcDriverRelease.release(loader);
      LeakCleaner.release(loader, BRIDGE);
    }
    if (group != null) group.release();
    sandbox.handler = null;
    sandbox.executor = null;
    sandbox.threads = null;
    sandbox.loader = null;
    if (loader != null) {
      try {
        loader.close();
      } catch (IOException e) {
        BridgeLog.warn("Sandbox " + sandbox.id + ": closing its jar failed: " + e.getMessage());
      }
      tracker.track(loader);
    }
    sandbox.markUnloaded();
    return new Report(stopped, survivors);
  }

  /** Lets queued and running invocations finish within the grace period; answers the rest CRASHED. */
  private static void drain(Sandbox sandbox, ThreadPoolExecutor executor, long graceMs) {
    executor.shutdown();
    try {
      if (executor.awaitTermination(graceMs, TimeUnit.MILLISECONDS)) return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Runnable queued : executor.shutdownNow())
      if (queued instanceof Invocation invocation) invocation.abort("Sandbox " + sandbox.id + " was unloaded before the invocation ran");
    for (Invocation running : sandbox.inFlight)
      running.abort("Sandbox " + sandbox.id + " was unloaded while the invocation ran (grace " + graceMs + " ms)");
  }

  static void releaseOomReserve() {
    OomReserve.release();
  }
}
