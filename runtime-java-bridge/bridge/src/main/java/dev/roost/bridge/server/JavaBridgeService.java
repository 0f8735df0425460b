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

/** The gRPC face of the bridge: each call handed to the registry, each BridgeError turned into a status. */
final class JavaBridgeService extends JavaBridgeGrpc.JavaBridgeImplBase {
  private final Sandboxes sandboxes;
  private final EventHub events;
  private final String pod;

  JavaBridgeService(Sandboxes sandboxes, EventHub events, String pod) {
    this.sandboxes = sandboxes;
    this.events = events;
    this.pod = pod;
  }

  @Override
  public void load(LoadRequest request, StreamObserver<LoadResponse> response) {
    try {
      double loadMs = sandboxes.load(request);
      response.onNext(LoadResponse.newBuilder().setLoadMs(loadMs).build());
      response.onCompleted();
    } catch (BridgeError e) {
      response.onError(Statuses.of(e));
    }
  }

  @Override
  public void unload(UnloadRequest request, StreamObserver<UnloadResponse> response) {
    try {
      response.onNext(sandboxes.unload(request));
      response.onCompleted();
    } catch (BridgeError e) {
      response.onError(Statuses.of(e));
    }
  }

  /** Does not block: the answer is sent from the function's thread, or the watchdog's. */
  @Override
  public void invoke(BridgeInvokeRequest request, StreamObserver<InvokeResponse> response) {
    try {
      sandboxes.invoke(
          request,
          answer -> {
            try {
              response.onNext(answer);
              response.onCompleted();
            } catch (RuntimeException callerGone) {
              // The caller cancelled; nobody is left to tell.
            }
          });
    } catch (BridgeError e) {
      response.onError(Statuses.of(e));
    }
  }

  @Override
  public void events(EventsRequest request, StreamObserver<BridgeEvent> response) {
    events.subscribe((ServerCallStreamObserver<BridgeEvent>) response);
  }

  @Override
  public void stats(BridgeStatsRequest request, StreamObserver<BridgeStatsResponse> response) {
    response.onNext(BridgeStats.collect(sandboxes, events));
    response.onCompleted();
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
}
