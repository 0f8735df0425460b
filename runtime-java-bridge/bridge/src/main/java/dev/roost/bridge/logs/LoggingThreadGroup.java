package dev.roost.bridge.logs;

/** A thread group whose threads' output belongs to one Sandbox. */
public interface LoggingThreadGroup {
  /** Null once the Sandbox is unloaded. */
  SandboxLog sandboxLog();
}
