package dev.roost.bridge.logs;

import dev.roost.v1alpha1.LogLevel;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Takes over System.out, System.err and System.in for the whole JVM: output
 * of function threads goes to their Sandbox's log, and functions read an empty
 * standard input (the real one belongs to the bridge, which watches it to learn
 * that its parent died).
 */
public final class OutputRouter {
  private static RoutingOutputStream out;
  private static RoutingOutputStream err;

  private OutputRouter() {}

  /** Installs the routing streams; returns the real stdin, stdout and stderr. */
  public static synchronized RealStreams install() {
    RealStreams real = new RealStreams(System.in, System.out, System.err);
    if (out != null) return real;
    out = new RoutingOutputStream("stdout", LogLevel.LOG_LEVEL_INFO, real.out());
    err = new RoutingOutputStream("stderr", LogLevel.LOG_LEVEL_ERROR, real.err());
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    System.setIn(InputStream.nullInputStream());
    return real;
  }

  /** Emits this thread's unterminated lines; called when an invocation ends. */
  public static void flushPartialLines() {
    if (out == null) return;
    System.out.flush();
    System.err.flush();
    out.flushPartialLine();
    err.flushPartialLine();
  }

  public record RealStreams(InputStream in, PrintStream out, PrintStream err) {}
}
