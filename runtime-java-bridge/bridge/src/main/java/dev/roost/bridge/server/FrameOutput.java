package dev.roost.bridge.server;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 */
final class FrameOutput {
  /** At most this many frames per gathering write. */
  private static final int BATCH = 64;

  private final SocketChannel channel;
  private final ConcurrentLinkedQueue<ByteBuffer> queued = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean writing = new AtomicBoolean();

  FrameOutput(SocketChannel channel) {
    this.channel = channel;
  }

  /** Sends one whole frame (flipped, ready to read), now or with the write under way. */
  void send(ByteBuffer frame) {
    queued.add(frame);
    // The writer checks the queue again after it lets go, so a frame queued
    // while it was finishing is not left behind by a thread that gave way.
    while (!queued.isEmpty() && writing.compareAndSet(false, true)) {
      // A write on a channel by a thread whose interrupt flag is set closes the
      // channel, under every invocation on it. A function thread may well
      // return with the flag set (catching InterruptedException and setting it
      // again is the usual idiom): it is cleared for the write, and set again
      // after, so that whatever the thread does next still sees it.
      boolean interrupted = Thread.interrupted();
      try {
        drain();
      } finally {
        writing.set(false);
        if (interrupted) Thread.currentThread().interrupt();
      }
    }
  }

  void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Already closed.
    }
    queued.clear();
  }

  private void drain() {
    ByteBuffer[] batch = new ByteBuffer[BATCH];
    while (true) {
      int count = 0;
      for (ByteBuffer frame; count < BATCH && (frame = queued.poll()) != null; ) batch[count++] = frame;
      if (count == 0) return;
      try {
        while (batch[count - 1].hasRemaining()) channel.write(batch, 0, count);
      } catch (IOException e) {
        close();
        return;
      }
    }
  }
}
