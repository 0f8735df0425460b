package dev.roost.bridge.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Cuts one connection's bytes into frames (a u32 length, a u32 header
 * length, the rest), reading as much as the socket holds at each read. Under
 * load one read brings the frames of many invocations; reading each frame's
 * prefix and then its rest cost two system calls a frame, a measured part of
 * the bridge's CPU per invocation (BENCHMARKS.md, RUNTIME=java bench:invoke).
 * What is read ahead is bounded by the buffer, whoever the peer is.
 */
final class FrameInput {
  private static final int BUFFER_BYTES = 64 * 1024;

  private final SocketChannel channel;
  /** Read mode between calls: the bytes from position to limit are read and not yet taken. */
  private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).limit(0);

  FrameInput(SocketChannel channel) {
    this.channel = channel;
  }

  /** The next frame's length field (what follows it), without taking it. */
  int peekLength() throws IOException {
    need(8);
    return buffer.getInt(buffer.position());
  }

  /** The next frame's header length field, without taking it. */
  int peekHeaderBytes() throws IOException {
    need(8);
    return buffer.getInt(buffer.position() + 4);
  }

  /**
   * Takes the frame whose prefix was peeked: its header and body, {@code
   * length - 4} bytes, in an array of their own (a body is handed on without a
   * copy, so no two frames may share one).
   */
  byte[] take(int length) throws IOException {
    buffer.position(buffer.position() + 8);
    byte[] frame = new byte[length - 4];
    int buffered = Math.min(buffer.remaining(), frame.length);
    buffer.get(frame, 0, buffered);
    ByteBuffer rest = ByteBuffer.wrap(frame, buffered, frame.length - buffered);
    while (rest.hasRemaining()) if (channel.read(rest) < 0) throw new EOFException();
    return frame;
  }

  /** Reads until at least {@code bytes} (at most the buffer's size) are buffered. */
  private void need(int bytes) throws IOException {
    if (buffer.remaining() >= bytes) return;
    buffer.compact();
    try {
      while (buffer.position() < bytes) if (channel.read(buffer) < 0) throw new EOFException();
    } finally {
      buffer.flip();
    }
  }
}
