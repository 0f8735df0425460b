package dev.roost.bridge.sandbox;

import dev.roost.bridge.logs.LoggingThreadGroup;
import dev.roost.bridge.logs.SandboxLog;
import dev.roost.v1alpha1.LogLevel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Every thread that runs a function's code belongs here: the executor's
 * workers, and (since a new thread joins its creator's group) every thread the
 * function starts. So unloading finds them all, and their output is the
 * Sandbox's. It holds no reference to the function's loader.
 */
final class FunctionThreadGroup extends ThreadGroup implements LoggingThreadGroup {
  private volatile SandboxLog log;
  private volatile Consumer<OutOfMemoryError> onOutOfMemory;

  FunctionThreadGroup(SandboxId id, SandboxLog log, Consumer<OutOfMemoryError> onOutOfMemory) {
    super("roost-fn " + id);
    this.log = log;
    this.onOutOfMemory = onOutOfMemory;
  }

  @Override
  public SandboxLog sandboxLog() {
    return log;
  }

  /** Threads of this group and its subgroups that are alive now. */
  List<Thread> liveThreads() {
    Thread[] threads = new Thread[activeCount() + 8];
    int n;
    while ((n = enumerate(threads, true)) == threads.length) threads = new Thread[threads.length * 2];
    return Arrays.asList(Arrays.copyOf(threads, n));
  }

  /** A function's own thread died of an exception: its stack goes to the Sandbox's stderr. */
  @Override
  @SuppressWarnings("removal")
  public void uncaughtException(Thread thread, Throwable error) {
    if (error instanceof ThreadDeath) return;
    SandboxLog sandboxLog = log;
    if (sandboxLog != null) {
      StringWriter trace = new StringWriter();
      error.printStackTrace(new PrintWriter(trace));
      for (String line : ("Exception in thread \"" + thread.getName() + "\" " + trace).split("\n"))
        sandboxLog.line("stderr", LogLevel.LOG_LEVEL_ERROR, "", line.stripTrailing());
    }
    Consumer<OutOfMemoryError> handler = onOutOfMemory;
    if (error instanceof OutOfMemoryError oom && handler != null) handler.accept(oom);
  }

  /** After unloading: drop what the group holds and let it go (a no-op after JDK 19). */
  @SuppressWarnings("removal")
  void release() {
    log = null;
    onOutOfMemory = null;
    try {
      if (!isDestroyed()) destroy();
    } catch (IllegalThreadStateException | UnsupportedOperationException stillHasThreads) {
      // A thread that would not stop keeps the group alive; it is reported elsewhere.
    }
  }
}
