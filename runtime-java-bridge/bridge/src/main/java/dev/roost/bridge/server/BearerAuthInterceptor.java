package dev.roost.bridge.server;

import dev.roost.bridge.ErrorCode;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** Lets through only calls that carry {@code authorization: Bearer <secret>}. */
final class BearerAuthInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final byte[] expected;

  BearerAuthInterceptor(String secret) {
    this.expected = ("Bearer " + secret).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String given = headers.get(AUTHORIZATION);
    // Constant time, so the secret cannot be guessed byte by byte from timings.
    if (given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8)))
      return next.startCall(call, headers);
    Metadata trailers = new Metadata();
    trailers.put(Statuses.ERROR_CODE, ErrorCode.ROOST_JAVA_UNAUTHENTICATED.name());
    call.close(
        Status.UNAUTHENTICATED.withDescription(
            given == null
                ? "the call carries no authorization header; send 'authorization: Bearer <ROOST_BRIDGE_SECRET>'"
                : "the bearer secret does not match the bridge's ROOST_BRIDGE_SECRET"),
        trailers);
    return new ServerCall.Listener<>() {};
  }
}
