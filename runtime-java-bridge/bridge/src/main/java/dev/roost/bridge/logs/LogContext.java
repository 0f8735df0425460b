package dev.roost.bridge.logs;

/**
 * Which Sandbox and request the current thread is working for, so that its
 * System.out lines and LambdaLogger calls land in the right log with the right
 * request id. Set by an invocation for its duration; threads a function starts
 * itself are found through their FunctionThreadGroup instead (no request id).
 */
public final class LogContext {
  private static final ThreadLocal<LogContext> CURRENT = new ThreadLocal<>();

  private final SandboxLog log;
  private final String requestId;

  private LogContext(SandboxLog log, String requestId) {
    this.log = log;
    this.requestId = requestId;
  }

  public static void enter(SandboxLog log, String requestId) {
    CURRENT.set(new LogContext(log, requestId));
  }

  public static void exit() {
    CURRENT.remove();
  }

  /** The context of this thread, or null for a bridge thread. */
  static LogContext current() {
    LogContext context = CURRENT.get();
    if (context != null) return context;
    for (ThreadGroup group = Thread.currentThread().getThreadGroup();
        group != null;
        group = group.getParent()) {
      if (group instanceof LoggingThreadGroup logging) {
        SandboxLog log = logging.sandboxLog();
        return log == null ? null : new LogContext(log, "");
      }
    }
    return null;
  }

  /** The request id this thread works on for {@code log}'s Sandbox, or "". */
  static String requestIdFor(SandboxLog log) {
    LogContext context = CURRENT.get();
    return context != null && context.log == log ? context.requestId : "";
  }

  SandboxLog log() {
    return log;
  }

  String requestId() {
    return requestId;
  }
}
