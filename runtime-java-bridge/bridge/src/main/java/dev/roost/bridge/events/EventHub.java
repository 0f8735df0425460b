package dev.roost.bridge.events;

import dev.roost.bridge.BridgeThreads;
import dev.roost.v1alpha1.BridgeEvent;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fans function output and lifecycle events out to every Events stream.
 *
 * <p>Publishers are often function threads, which a timeout may hard-stop at
 * any instruction, so they only put the event on a queue; one bridge thread
 * moves events to the streams, which keeps gRPC's state out of reach of a
 * stopped thread. While no one listens, the latest {@link #BACKLOG} events are
 * kept and handed to the next subscriber, so a failure reported while the
 * sidecar reconnects is not lost. A stream that cannot keep up loses its oldest
 * events rather than growing the heap.
 */
public final class EventHub {
  static final int BACKLOG = 2_000;
  static final int PER_SUBSCRIBER = 10_000;
  private static final int QUEUE = 50_000;

  private final LinkedBlockingQueue<BridgeEvent> queue = new LinkedBlockingQueue<>(QUEUE);
  private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
  private final ArrayDeque<BridgeEvent> backlog = new ArrayDeque<>();
  private final AtomicLong dropped = new AtomicLong();
  private final Thread pump;

  public EventHub() {
    pump = BridgeThreads.daemon("roost-bridge-events", this::pump);
    pump.start();
  }

  /** Never blocks; drops the event (and counts it) if the bridge is far behind. */
  public void publish(BridgeEvent event) {
    if (!queue.offer(event)) dropped.incrementAndGet();
  }

  /** Events dropped because a queue was full, since start. */
  public long dropped() {
    return dropped.get() + subscribers.stream().mapToLong(s -> s.dropped).sum();
  }

  /** Streams every event from now on (and the backlog) until the client cancels. */
  public void subscribe(ServerCallStreamObserver<BridgeEvent> stream) {
    Subscriber subscriber = new Subscriber(stream);
    stream.setOnCancelHandler(() -> subscribers.remove(subscriber));
    stream.setOnReadyHandler(subscriber::drain);
    synchronized (backlog) {
      for (BridgeEvent event : backlog) subscriber.offer(event);
      backlog.clear();
      subscribers.add(subscriber);
    }
    subscriber.drain();
  }

  /** Ends every stream, for shutdown. */
  public void close() {
    for (Subscriber subscriber : subscribers) subscriber.complete();
    subscribers.clear();
  }

  private void pump() {
    for (;;) {
      BridgeEvent event;
      try {
        event = queue.take();
      } catch (InterruptedException e) {
        // Nothing the bridge does interrupts it; function code reaching every thread might. Not a reason to go quiet.
        continue;
      }
      synchronized (backlog) {
        if (subscribers.isEmpty()) {
          if (backlog.size() == BACKLOG) backlog.removeFirst();
          backlog.addLast(event);
          continue;
        }
      }
      for (Subscriber subscriber : subscribers) {
        subscriber.offer(event);
        subscriber.drain();
      }
    }
  }

  /** One Events stream with the events it has not taken yet. */
  private static final class Subscriber {
    private final ServerCallStreamObserver<BridgeEvent> stream;
    private final ArrayDeque<BridgeEvent> pending = new ArrayDeque<>();
    private long dropped;
    private boolean done;

    Subscriber(ServerCallStreamObserver<BridgeEvent> stream) {
      this.stream = stream;
    }

    synchronized void offer(BridgeEvent event) {
      if (pending.size() == PER_SUBSCRIBER) {
        pending.removeFirst();
        dropped++;
      }
      pending.addLast(event);
    }

    /** Sends what the stream's flow control lets through now; called again when it is ready. */
    synchronized void drain() {
      if (done) return;
      try {
        while (stream.isReady() && !stream.isCancelled() && !pending.isEmpty())
          stream.onNext(pending.removeFirst());
      } catch (RuntimeException streamGone) {
        done = true;
      }
    }

    synchronized void complete() {
      if (done) return;
      done = true;
      try {
        stream.onCompleted();
      } catch (RuntimeException alreadyClosed) {
        // The client went first.
      }
    }
  }
}
