package dev.roost.bridge.server;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The frames one connection sends, from whichever function threads answer.
 * A thread queues its frame; the one that finds no write under way writes
 * every queued frame in one gathering write, and the others go back to their
 * functions at once. Under load answers finish together, and one system call
 * (and one wake-up of the sidecar) carries several of them: a write per answer
 * was a measured part of the bridge's CPU per invocation (BENCHMARKS.md,
 * RUNTIME=java bench:invoke). Frames never interleave: only one thread writes
 * at a time, and it finishes each frame it takes. A connection that cannot
 * take a write is closed, and what was queued for it is dropped (the sidecar
 * fails what it had sent on a closed connection).
 *
 * <p>The channel is non-blocking, and a write that finds the socket full waits
 * on a selector: a blocking write by a thread that is interrupted closes the
 * channel, under every invocation on it, and function code can interrupt the
 * threads that write (its own, which answer for the connection too). A
 * function thread may also return with its flag set (catching
 * InterruptedException and setting it again is the usual idiom): the flag is
 * set again after the write, so that whatever the thread does next sees it.
 */
final class FrameOutput implements AutoCloseable {
  /** At most this many frames per gathering write. */
  private static final int BATCH = 64;

  private final SocketChannel channel;
  /** Used by the one thread writing at a time. */
  private final Selector writable;
  private final ConcurrentLinkedQueue<ByteBuffer> queued = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean writing = new AtomicBoolean();

  /**
   * The peer's hello offered binary headers and was welcomed: answers go with
   * them. Set by the reader before it hands on any invocation.
   */
  volatile boolean binaryHeaders;

  /** {@code channel} must be non-blocking. */
  FrameOutput(SocketChannel channel) throws IOException {
    this.channel = channel;
    writable = Selector.open();
    channel.register(writable, SelectionKey.OP_WRITE);
  }

  /**
   * Sends one frame (its length, its header's length, the first {@code
   * headerBytes} of {@code header}, the body), now or with the write under way.
   */
  void send(byte[] header, int headerBytes, ByteString body) {
    ByteBuffer frame = ByteBuffer.allocate(8 + headerBytes + body.size());
    frame.putInt(4 + headerBytes + body.size()).putInt(headerBytes).put(header, 0, headerBytes);
    body.copyTo(frame);
    queued.add(frame.flip());
    // The writer checks the queue again after it lets go, so a frame queued
    // while it was finishing is not left behind by a thread that gave way.
    while (!queued.isEmpty() && writing.compareAndSet(false, true)) {
      boolean interrupted = false;
      try {
        interrupted = drain();
      } finally {
        writing.set(false);
        if (interrupted) Thread.currentThread().interrupt();
      }
    }
  }

  /** Closes the channel; what is queued is dropped. */
  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Already closed.
    }
    try {
      writable.close();
    } catch (IOException ignored) {
      // Closing anyway.
    }
    queued.clear();
  }

  /** Writes until nothing is queued; says whether the thread was interrupted meanwhile. */
  private boolean drain() {
    boolean interrupted = Thread.interrupted();
    ByteBuffer[] batch = new ByteBuffer[BATCH];
    while (true) {
      int count = 0;
      for (ByteBuffer frame; count < BATCH && (frame = queued.poll()) != null; ) batch[count++] = frame;
      if (count == 0) return interrupted;
      try {
        while (batch[count - 1].hasRemaining()) {
          if (channel.write(batch, 0, count) > 0) continue;
          // The socket is full (a slow reader): wait until it takes more. An interrupt only wakes the wait.
          writable.select();
          writable.selectedKeys().clear();
          interrupted |= Thread.interrupted();
        }
      } catch (IOException | ClosedSelectorException e) {
        // Broken, or closed by the reader meanwhile.
        close();
        return interrupted;
      }
    }
  }
}
