package dev.roost.bridge.server;

import dev.roost.v1alpha1.InvokeResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The two binary headers the bridge speaks once a sidecar's hello offered
 * them: INVOKE_HEADER and RESULT_HEADER of proto/invoke-frames.ts, laid out
 * as runtime-node/frames.js's HeaderCodec lays them out (a tag byte, then the
 * fields in a fixed order; numbers little-endian doubles, strings a u32 byte
 * length and UTF-8, booleans one byte). They replace JSON on the frames of
 * every invocation because Jackson's tree of each header, read and written,
 * was a measured part of a Java invocation's CPU in the bridge and in the
 * sidecar (BENCHMARKS.md, RUNTIME=java bench:invoke).
 */
final class FrameHeaders {
  static final byte INVOKE_TAG = 1;
  static final byte RESULT_TAG = 2;

  private FrameHeaders() {}

  /** An invocation's header, as proto/invoke-frames.ts's InvokeFrame. */
  record Invoke(double id, String namespace, String sandbox, String requestId, double timeoutMs, boolean tailLogs, boolean httpRequest) {}

  /** A header the reader cannot take; the connection it came on is out of step. */
  static final class MalformedHeader extends Exception {
    MalformedHeader(String why) {
      super("Cannot read a frame: " + why);
    }
  }

  /** Reads an INVOKE_HEADER from {@code bytes[start, end)}, its tag included. */
  static Invoke readInvoke(byte[] bytes, int start, int end) throws MalformedHeader {
    Reader reader = new Reader(bytes, start, end);
    int tag = reader.buffer.get();
    if (tag != INVOKE_TAG) throw new MalformedHeader("its header is of kind " + tag + ", not an invocation (" + INVOKE_TAG + ")");
    Invoke invoke =
        new Invoke(
            reader.f64("id"),
            reader.str("namespace"),
            reader.str("sandbox"),
            reader.str("requestId"),
            reader.f64("timeoutMs"),
            reader.bool("tailLogs"),
            reader.bool("format"));
    reader.done();
    return invoke;
  }

  /** A RESULT_HEADER answering invocation {@code id} with {@code answer}'s fields (its result is the body). */
  static Writer result(double id, InvokeResponse answer) {
    Writer w = new Writer();
    w.f64(id);
    w.str(answer.getError().name());
    w.str(answer.getErrorType());
    w.str(answer.getErrorMessage());
    w.strs(answer.getStackTraceList());
    w.f64(answer.getDurationMs());
    w.f64(answer.getMemoryBytes());
    w.bool(answer.getColdStart());
    w.f64(answer.getCpuMicros());
    w.str(answer.getLogTail());
    w.bool(false);
    return w;
  }

  /** A RESULT_HEADER refusing invocation {@code id} before its function ran. */
  static Writer rejection(double id, int grpcCode, String message, boolean notInvoked, String errorCode) {
    Writer w = new Writer();
    w.f64(id);
    w.str("FUNCTION_ERROR_NONE");
    w.str("");
    w.str("");
    w.strs(List.of());
    w.f64(0);
    w.f64(0);
    w.bool(false);
    w.f64(0);
    w.str("");
    w.bool(true);
    w.f64(grpcCode);
    w.str(message);
    w.bool(notInvoked);
    w.bool(true);
    w.str(errorCode);
    return w;
  }

  /** Fields in order; one that runs past the header's end, or a boolean other than 0 or 1, names itself. */
  private static final class Reader {
    final ByteBuffer buffer;

    Reader(byte[] bytes, int start, int end) {
      buffer = ByteBuffer.wrap(bytes, start, end - start).order(ByteOrder.LITTLE_ENDIAN);
    }

    double f64(String field) throws MalformedHeader {
      take(8, field);
      return buffer.getDouble();
    }

    boolean bool(String field) throws MalformedHeader {
      take(1, field);
      byte value = buffer.get();
      if (value != 0 && value != 1) throw new MalformedHeader("its header field " + field + " is " + value + ", not 0 or 1");
      return value == 1;
    }

    String str(String field) throws MalformedHeader {
      take(4, field);
      int length = buffer.getInt();
      if (length < 0) throw new MalformedHeader("its header ends inside field " + field);
      take(length, field);
      String value = new String(buffer.array(), buffer.position(), length, StandardCharsets.UTF_8);
      buffer.position(buffer.position() + length);
      return value;
    }

    void done() throws MalformedHeader {
      if (buffer.hasRemaining()) throw new MalformedHeader("its header has " + buffer.remaining() + " bytes past its fields");
    }

    private void take(int bytes, String field) throws MalformedHeader {
      if (buffer.remaining() < bytes) throw new MalformedHeader("its header ends inside field " + field);
    }
  }

  /** A header being written, its tag first; grows as a long error message needs. */
  static final class Writer {
    private ByteBuffer buffer = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);

    private Writer() {
      buffer.put(RESULT_TAG);
    }

    /** The header's bytes are the first {@link #length()} of it. */
    byte[] array() {
      return buffer.array();
    }

    int length() {
      return buffer.position();
    }

    private void f64(double value) {
      room(8);
      buffer.putDouble(value);
    }

    private void bool(boolean value) {
      room(1);
      buffer.put((byte) (value ? 1 : 0));
    }

    private void str(String value) {
      byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
      room(4 + bytes.length);
      buffer.putInt(bytes.length).put(bytes);
    }

    private void strs(List<String> values) {
      room(4);
      buffer.putInt(values.size());
      for (String value : values) str(value);
    }

    private void room(int bytes) {
      if (buffer.remaining() >= bytes) return;
      ByteBuffer grown =
          ByteBuffer.allocate(Math.max(buffer.capacity() * 2, buffer.position() + bytes)).order(ByteOrder.LITTLE_ENDIAN);
      buffer.flip();
      grown.put(buffer);
      buffer = grown;
    }
  }
}
