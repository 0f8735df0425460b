package dev.roost.bridge.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * Cuts one connection's bytes into frames (a u32 length, a u32 header
 * length, the rest), reading as much as the socket holds at each read. Under
 * load one read brings the frames of many invocations; reading each frame's
 * prefix and then its rest cost two system calls a frame, a measured part of
 * the bridge's CPU per invocation (BENCHMARKS.md, RUNTIME=java bench:invoke).
 * What is read ahead is bounded by the buffer, whoever the peer is.
 *
 * <p>The channel is non-blocking (see {@link FrameOutput} for why) and the
 * reader waits on a selector of its own; an interrupt of the reading thread
 * only wakes it.
 */
final class FrameInput implements AutoCloseable {
  private static final int BUFFER_BYTES = 64 * 1024;

  private final SocketChannel channel;
  private final Selector readable;
  /** Read mode between calls: the bytes from position to limit are read and not yet taken. */
  private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).limit(0);

  /** {@code channel} must be non-blocking. */
  FrameInput(SocketChannel channel) throws IOException {
    this.channel = channel;
    readable = Selector.open();
    channel.register(readable, SelectionKey.OP_READ);
  }

  @Override
  public void close() {
    try {
      readable.close();
    } catch (IOException ignored) {
      // Closing anyway.
    }
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
    while (rest.hasRemaining()) read(rest);
    return frame;
  }

  /** Reads until at least {@code bytes} (at most the buffer's size) are buffered. */
  private void need(int bytes) throws IOException {
    if (buffer.remaining() >= bytes) return;
    buffer.compact();
    try {
      while (buffer.position() < bytes) read(buffer);
    } finally {
      buffer.flip();
    }
  }

  /** Reads at least one byte into {@code target}, which has room, waiting for it as long as it takes. */
  private void read(ByteBuffer target) throws IOException {
    while (true) {
      int read = channel.read(target);
      if (read < 0) throw new EOFException();
      if (read > 0) return;
      // A channel closed by another thread (the hello deadline, a failed
      // write, the bridge stopping) does not wake a select: it is looked at
      // every so often. Nothing else stops this thread; an interrupt would
      // make every select return at once, and is cleared.
      readable.select(InvokeFrameServer.CLOSED_CHECK_MS);
      readable.selectedKeys().clear();
      Thread.interrupted();
      if (!channel.isOpen()) throw new ClosedChannelException();
    }
  }
}
