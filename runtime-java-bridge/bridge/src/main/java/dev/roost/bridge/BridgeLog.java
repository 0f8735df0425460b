package dev.roost.bridge;

import java.io.PrintStream;

/**
 * The bridge's own diagnostics: one plain line each on the process's real
 * stderr, which the sidecar forwards to its log. Function output never comes
 * here; it travels as LogEntry events.
 */
public final class BridgeLog {
  private static volatile PrintStream out = System.err;

  private BridgeLog() {}

  /** Called once the output router has taken over System.err, with the real stream. */
  public static void useStream(PrintStream realStderr) {
    out = realStderr;
  }

  public static void info(String message) {
    out.println("roost-java-bridge info " + message);
  }

  public static void warn(String message) {
    out.println("roost-java-bridge warn " + message);
  }

  public static void error(String message, Throwable cause) {
    out.println("roost-java-bridge error " + message + ": " + cause);
  }
}
