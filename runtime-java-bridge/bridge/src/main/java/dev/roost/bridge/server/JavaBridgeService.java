package dev.roost.bridge.server;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.sandbox.Sandboxes;
import dev.roost.bridge.stats.BridgeStats;
import dev.roost.v1alpha1.BridgeEvent;
import dev.roost.v1alpha1.BridgeInvokeRequest;
import dev.roost.v1alpha1.BridgeStatsRequest;
import dev.roost.v1alpha1.BridgeStatsResponse;
import dev.roost.v1alpha1.EventsRequest;
import dev.roost.v1alpha1.HealthRequest;
import dev.roost.v1alpha1.HealthResponse;
import dev.roost.v1alpha1.InvokeResponse;
import dev.roost.v1alpha1.JavaBridgeGrpc;
import dev.roost.v1alpha1.LoadRequest;
import dev.roost.v1alpha1.LoadResponse;
import dev.roost.v1alpha1.UnloadRequest;
import dev.roost.v1alpha1.UnloadResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Executor;

/**
 * The gRPC face of the bridge: each call handed to the registry, each
 * BridgeError turned into a status. Calls arrive on the transport's own thread
 * (the server runs them directly, see {@link BridgeServer}): Load, Invoke,
 * Health and Events return at once and are answered from the function's thread
 * or the event pump; the calls that wait (Unload, Stats) move to {@code blocking}.
 */
final class JavaBridgeService extends JavaBridgeGrpc.JavaBridgeImplBase {
  private final Sandboxes sandboxes;
  private final EventHub events;
  private final String pod;
  private final Executor blocking;

  JavaBridgeService(Sandboxes sandboxes, EventHub events, String pod, Executor blocking) {
    this.sandboxes = sandboxes;
    this.events = events;
    this.pod = pod;
    this.blocking = blocking;
  }

  /** Does not block: the answer is sent from the function's thread once its health call has run. */
  @Override
  public void load(LoadRequest request, StreamObserver<LoadResponse> response) {
    try {
      sandboxes.load(
          request,
          new Sandboxes.LoadReply() {
            @Override
            public void loaded(double loadMs) {
              answer(response, LoadResponse.newBuilder().setLoadMs(loadMs).build());
            }

            @Override
            public void failed(BridgeError error) {
              try {
                response.onError(Statuses.of(error));
              } catch (RuntimeException callerGone) {
                // Cancelled meanwhile.
              }
            }
          });
    } catch (BridgeError e) {
      response.onError(Statuses.of(e));
    }
  }

  /** Waits for in-flight invocations, so it runs on a thread of its own, off the transport's. */
  @Override
  public void unload(UnloadRequest request, StreamObserver<UnloadResponse> response) {
    blocking.execute(
        () -> {
          try {
            answer(response, sandboxes.unload(request));
          } catch (BridgeError e) {
            response.onError(Statuses.of(e));
          }
        });
  }

  /** Does not block: the answer is sent from the function's thread, or the watchdog's. */
  @Override
  public void invoke(BridgeInvokeRequest request, StreamObserver<InvokeResponse> response) {
    try {
      sandboxes.invoke(request, answer -> answer(response, answer));
    } catch (BridgeError e) {
      response.onError(Statuses.of(e));
    }
  }

  @Override
  public void events(EventsRequest request, StreamObserver<BridgeEvent> response) {
    events.subscribe((ServerCallStreamObserver<BridgeEvent>) response);
  }

  /** Reads the memory pools and may take a while: off the transport's thread too. */
  @Override
  public void stats(BridgeStatsRequest request, StreamObserver<BridgeStatsResponse> response) {
    blocking.execute(() -> answer(response, BridgeStats.collect(sandboxes, events)));
  }

  @Override
  public void health(HealthRequest request, StreamObserver<HealthResponse> response) {
    response.onNext(
        HealthResponse.newBuilder()
            .setServing(true)
            .setPod(pod)
            .setSandboxes(sandboxes.ready())
            .addRuntimes("java")
            .build());
    response.onCompleted();
  }

  /** The one answer of a unary call; a caller that has gone (cancelled) is nobody left to tell. */
  private static <T> void answer(StreamObserver<T> response, T message) {
    try {
      response.onNext(message);
      response.onCompleted();
    } catch (RuntimeException callerGone) {
      // Cancelled meanwhile.
    }
  }
}
