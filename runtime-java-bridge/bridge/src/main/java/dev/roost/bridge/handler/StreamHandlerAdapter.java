package dev.roost.bridge.handler;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;

/** {@code RequestStreamHandler}: the payload's bytes in, whatever it writes out. */
final class StreamHandlerAdapter implements HandlerAdapter {
  private final RequestStreamHandler handler;

  StreamHandlerAdapter(RequestStreamHandler handler) {
    this.handler = handler;
  }

  @Override
  public byte[] invoke(byte[] payload, Context context) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    handler.handleRequest(new ByteArrayInputStream(payload), out, context);
    return out.toByteArray();
  }

  @Override
  public String describe() {
    return "RequestStreamHandler " + handler.getClass().getName();
  }
}
