package dev.roost.bridge.logs;

import dev.roost.v1alpha1.LogLevel;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The stream behind System.out or System.err once the bridge runs: bytes
 * written by a function's thread are cut into lines and become LogEntry events
 * of that function's Sandbox; bytes from the bridge's own threads go to the
 * process's real stream. Each thread has its own line buffer, so two functions
 * printing at once never mix inside a line.
 */
final class RoutingOutputStream extends OutputStream {
  private final String stream;
  private final LogLevel level;
  private final PrintStream real;
  private final ThreadLocal<ByteArrayOutputStream> lines = ThreadLocal.withInitial(ByteArrayOutputStream::new);

  RoutingOutputStream(String stream, LogLevel level, PrintStream real) {
    this.stream = stream;
    this.level = level;
    this.real = real;
  }

  @Override
  public void write(int b) {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] bytes, int offset, int length) {
    LogContext context = LogContext.current();
    if (context == null) {
      real.write(bytes, offset, length);
      return;
    }
    ByteArrayOutputStream line = lines.get();
    int start = offset;
    for (int i = offset; i < offset + length; i++) {
      if (bytes[i] != '\n') continue;
      line.write(bytes, start, i - start);
      emit(context, line);
      start = i + 1;
    }
    line.write(bytes, start, offset + length - start);
    if (line.size() >= SandboxLog.MAX_LINE_CHARS) emit(context, line);
  }

  @Override
  public void flush() {
    real.flush();
  }

  /** Emits what this thread printed without a final newline (at the end of an invocation). */
  void flushPartialLine() {
    ByteArrayOutputStream line = lines.get();
    if (line.size() == 0) return;
    LogContext context = LogContext.current();
    if (context == null) line.reset();
    else emit(context, line);
  }

  private void emit(LogContext context, ByteArrayOutputStream line) {
    String text = line.toString(StandardCharsets.UTF_8);
    line.reset();
    if (text.endsWith("\r")) text = text.substring(0, text.length() - 1);
    context.log().line(stream, level, context.requestId(), text);
  }
}
