package dev.roost.bridge.server;

import dev.roost.bridge.BridgeThreads;
import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.sandbox.Sandboxes;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The gRPC server: on a Unix domain socket through Netty's epoll transport
 * (shipped inside grpc-netty-shaded), or on loopback TCP where no socket path is
 * given. Every service call passes the bearer check first.
 */
public final class BridgeServer {
  /** Lambda accepts 6 MB payloads; leave room for the envelope. */
  private static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

  /**
   * grpc-java asks for SO_KEEPALIVE on every connection, which Unix sockets do
   * not have, and Netty warns about it each time. Held here: JUL keeps loggers
   * only weakly, and a collected logger would forget its level.
   */
  private static final Logger NETTY_BOOTSTRAP = Logger.getLogger("io.grpc.netty.shaded.io.netty.bootstrap");

  static {
    NETTY_BOOTSTRAP.setLevel(Level.SEVERE);
  }

  private final Server server;
  private final Path socketPath;
  private final EventLoopGroup eventLoops;
  private final ExecutorService calls;
  /** Invocations in frames, next to the gRPC socket; none on loopback TCP. */
  private final InvokeFrameServer frames;

  private BridgeServer(
      Server server, Path socketPath, EventLoopGroup eventLoops, ExecutorService calls, InvokeFrameServer frames) {
    this.server = server;
    this.socketPath = socketPath;
    this.eventLoops = eventLoops;
    this.calls = calls;
    this.frames = frames;
  }

  /**
   * Starts serving.
   *
   * @param socketPath the Unix socket to listen on, or null for loopback TCP on {@code port}
   */
  public static BridgeServer start(
      Path socketPath, int port, String secret, Sandboxes sandboxes, EventHub events, String pod) throws IOException {
    NettyServerBuilder builder;
    EventLoopGroup eventLoops = null;
    if (socketPath != null) {
      if (!Epoll.isAvailable())
        throw new IOException(
            "Unix domain sockets need Netty's epoll transport, which is not available here ("
                + Epoll.unavailabilityCause() + "); start the bridge with --port for loopback TCP");
      Files.createDirectories(socketPath.getParent());
      Files.deleteIfExists(socketPath);
      // One thread accepts and serves: the sidecar is the only client.
      eventLoops =
          new MultiThreadIoEventLoopGroup(
              1,
              new DefaultThreadFactory("roost-bridge-grpc", true, Thread.NORM_PRIORITY, BridgeThreads.group()),
              EpollIoHandler.newFactory());
      builder =
          NettyServerBuilder.forAddress(new DomainSocketAddress(socketPath.toString()))
              .channelType(EpollServerDomainSocketChannel.class)
              .bossEventLoopGroup(eventLoops)
              .workerEventLoopGroup(eventLoops);
    } else {
      builder = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }
    // Calls run on the transport's thread: a Load or an Invoke goes from the
    // socket straight to the function's thread, which answers, with no pool
    // thread woken in between (each hand-over costs a wake-up, which on a busy
    // two-core host is the larger part of a plug's time in the bridge). Unload
    // and Stats wait, so the service moves them to this growing pool.
    ExecutorService calls = Executors.newCachedThreadPool(BridgeThreads.factory("roost-bridge-rpc"));
    JavaBridgeService service = new JavaBridgeService(sandboxes, events, pod, calls);
    Server server =
        builder
            .maxInboundMessageSize(MAX_MESSAGE_BYTES)
            .directExecutor()
            .addService(ServerInterceptors.intercept(service, new BearerAuthInterceptor(secret)))
            .build()
            .start();
    if (socketPath != null) restrictToOwner(socketPath);
    InvokeFrameServer frames =
        socketPath != null ? InvokeFrameServer.start(InvokeFrameServer.pathFor(socketPath), secret, sandboxes) : null;
    return new BridgeServer(server, socketPath, eventLoops, calls, frames);
  }

  /** What a gRPC client dials: unix:/abs/path or 127.0.0.1:port. */
  public String target() {
    if (socketPath != null) return "unix:" + socketPath;
    InetSocketAddress address = (InetSocketAddress) server.getListenSockets().get(0);
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  public void stop(long graceMs) {
    if (frames != null) frames.stopAccepting();
    server.shutdown();
    try {
      if (!server.awaitTermination(graceMs, TimeUnit.MILLISECONDS)) server.shutdownNow();
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    if (frames != null) frames.closeConnections();
    calls.shutdownNow();
    if (eventLoops != null) eventLoops.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    if (socketPath != null) {
      try {
        Files.deleteIfExists(socketPath);
      } catch (IOException ignored) {
        // The next start removes it.
      }
    }
  }

  /** Only the bridge's user may connect; the bearer secret is the second lock. */
  private static void restrictToOwner(Path socketPath) {
    try {
      Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
    } catch (IOException | UnsupportedOperationException ignored) {
      // Not a POSIX file system: the secret alone guards the socket.
    }
  }
}
