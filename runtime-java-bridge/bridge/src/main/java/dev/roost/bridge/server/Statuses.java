package dev.roost.bridge.server;

import dev.roost.bridge.BridgeError;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** BridgeError to gRPC: its status code, its message, and its stable code in a trailer. */
final class Statuses {
  static final Metadata.Key<String> ERROR_CODE = Metadata.Key.of("roost-error-code", Metadata.ASCII_STRING_MARSHALLER);

  private Statuses() {}

  static StatusRuntimeException of(BridgeError error) {
    Metadata trailers = new Metadata();
    trailers.put(ERROR_CODE, error.code().name());
    return Status.fromCode(Status.Code.valueOf(error.code().grpcStatus()))
        .withDescription(error.getMessage())
        .asRuntimeException(trailers);
  }
}
