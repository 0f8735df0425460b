package dev.roost.bridge.warmup;

import dev.roost.v1alpha1.BridgeEvent;
import dev.roost.v1alpha1.BridgeStatsRequest;
import dev.roost.v1alpha1.EventsRequest;
import dev.roost.v1alpha1.HealthRequest;
import dev.roost.v1alpha1.JavaBridgeGrpc;
import dev.roost.v1alpha1.UnloadRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC client of the bridge inside the bridge, for the training run: one
 * round of real calls over the socket records the server's connection and
 * request path in the AppCDS archive.
 */
final class SelfClient {
  private static final String SANDBOX_ID = "roost-system/bridge-self-call";

  private SelfClient() {}

  /** Health, Events, Load, Invoke, Stats and Unload of the warm-up function, over {@code socket}. */
  static void exercise(Path socket, String secret, int invokes) throws InterruptedException {
    MultiThreadIoEventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + secret);
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(loop)
            .usePlaintext()
            .intercept(MetadataUtils.newAttachHeadersInterceptor(headers))
            .build();
    try {
      JavaBridgeGrpc.JavaBridgeBlockingStub bridge = JavaBridgeGrpc.newBlockingStub(channel);
      JavaBridgeGrpc.newStub(channel).events(EventsRequest.getDefaultInstance(), new Ignore());
      bridge.health(HealthRequest.getDefaultInstance());
      bridge.load(Warmup.loadRequest(SANDBOX_ID, Warmup.bridgeJar()));
      for (int i = 0; i < invokes; i++) bridge.invoke(Warmup.invokeRequest(SANDBOX_ID, "self-call-" + i));
      bridge.stats(BridgeStatsRequest.getDefaultInstance());
      bridge.unload(UnloadRequest.newBuilder().setSandboxId(SANDBOX_ID).build());
    } finally {
      channel.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
      loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }
  }

  private static final class Ignore implements StreamObserver<BridgeEvent> {
    @Override
    public void onNext(BridgeEvent event) {}

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onCompleted() {}
  }
}
