package dev.roost.bridge.loader;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a function's rewritten calls to System.getenv, Runtime.addShutdownHook
 * and Thread.interrupt see: its own environment, a record of the shutdown
 * hooks it registered so that unloading can take them back, and which threads
 * are its own.
 */
public final class GuestState {
  /** For a caller that is not function code: an empty environment, untracked hooks. */
  public static final GuestState NONE = new GuestState("", Map.of(), null);

  private final String sandboxId;
  private final Map<String, String> env;
  /** Every thread running the function's code is in it, or in a group below it. */
  private final ThreadGroup threads;
  private final List<Thread> shutdownHooks = new ArrayList<>();

  GuestState(String sandboxId, Map<String, String> env, ThreadGroup threads) {
    this.sandboxId = sandboxId;
    this.env = Map.copyOf(env);
    this.threads = threads;
  }

  /** The state of the function that defined {@code caller}, or NONE. */
  public static GuestState of(Class<?> caller) {
    return caller != null && caller.getClassLoader() instanceof FunctionClassLoader loader
        ? loader.guest()
        : NONE;
  }

  public String sandboxId() {
    return sandboxId;
  }

  /**
   * Whether {@code thread} is one of the function's own (or has ended, when
   * touching it changes nothing); the bridge's threads and its neighbours' are
   * not. NONE owns none.
   */
  public boolean owns(Thread thread) {
    ThreadGroup group = thread.getThreadGroup();
    return group == null || owns(group);
  }

  /** Whether {@code group} is the function's, or below it. */
  public boolean owns(ThreadGroup group) {
    return threads != null && threads.parentOf(group);
  }

  /** Immutable, as the JDK's System.getenv() is. */
  public Map<String, String> env() {
    return env;
  }

  public void trackShutdownHook(Thread hook) {
    if (this == NONE) return;
    synchronized (shutdownHooks) {
      shutdownHooks.add(hook);
    }
  }

  public void untrackShutdownHook(Thread hook) {
    synchronized (shutdownHooks) {
      shutdownHooks.remove(hook);
    }
  }

  /** Takes every hook this function registered out of the runtime; returns how many. */
  int removeShutdownHooks() {
    List<Thread> hooks;
    synchronized (shutdownHooks) {
      hooks = new ArrayList<>(shutdownHooks);
      shutdownHooks.clear();
    }
    int removed = 0;
    for (Thread hook : hooks) {
      try {
        if (Runtime.getRuntime().removeShutdownHook(hook)) removed++;
      } catch (IllegalStateException shuttingDown) {
        // The JVM is already exiting: the hook runs or has run; nothing to release.
      }
    }
    return removed;
  }
}
