package dev.roost.bridge;

import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.invoke.Watchdog;
import dev.roost.bridge.sandbox.Sandboxes;
import dev.roost.bridge.server.BridgeServer;
import java.io.IOException;
import java.net.URLConnection;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** The running bridge: its registry of Sandboxes, its event hub, its server; started and stopped as one. */
public final class Bridge {
  private final Sandboxes sandboxes;
  private final EventHub events;
  private final Watchdog watchdog;
  private final BridgeServer server;
  private final CountDownLatch stopped = new CountDownLatch(1);

  private Bridge(Sandboxes sandboxes, EventHub events, Watchdog watchdog, BridgeServer server) {
    this.sandboxes = sandboxes;
    this.events = events;
    this.watchdog = watchdog;
    this.server = server;
  }

  public static Bridge start(Path socketPath, int port, String secret, int maxQueued) throws IOException {
    // jar: URL connections cache their JarFile for the life of the JVM; a
    // function reading its own resources through URLs would leave its jar open.
    URLConnection.setDefaultUseCaches("jar", false);
    EventHub events = new EventHub();
    Watchdog watchdog = new Watchdog();
    Sandboxes sandboxes = new Sandboxes(events, watchdog, maxQueued);
    String pod = System.getenv().getOrDefault("ROOST_POD_NAME", "");
    BridgeServer server = BridgeServer.start(socketPath, port, secret, sandboxes, events, pod);
    return new Bridge(sandboxes, events, watchdog, server);
  }

  public Sandboxes sandboxes() {
    return sandboxes;
  }

  /** What a gRPC client dials. */
  public String target() {
    return server.target();
  }

  /**
   * Blocks until {@link #stop()} has run. An interrupt does not end the wait:
   * the main thread returning would end the JVM, and function code can reach
   * every thread, this one too.
   */
  public void awaitStop() {
    while (true) {
      try {
        stopped.await();
        return;
      } catch (InterruptedException ignored) {
        // Not a stop.
      }
    }
  }

  /** Stops serving, unloads every function briefly, ends the event streams. Idempotent. */
  public synchronized void stop() {
    if (stopped.getCount() == 0) return;
    server.stop(1_000);
    sandboxes.unloadAll(500);
    events.close();
    watchdog.shutdown();
    stopped.countDown();
  }
}
