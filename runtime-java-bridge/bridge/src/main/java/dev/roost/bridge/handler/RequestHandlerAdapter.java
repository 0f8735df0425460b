package dev.roost.bridge.handler;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;

/** {@code RequestHandler<I, O>}: the payload read as I, the result written from O. */
final class RequestHandlerAdapter implements HandlerAdapter {
  private final RequestHandler<Object, Object> handler;
  private final ObjectReader input;
  private final ObjectWriter output;

  RequestHandlerAdapter(RequestHandler<Object, Object> handler, ObjectReader input, ObjectWriter output) {
    this.handler = handler;
    this.input = input;
    this.output = output;
  }

  @Override
  public byte[] invoke(byte[] payload, Context context) {
    Object event = JsonCodec.read(input, payload);
    return JsonCodec.write(output, handler.handleRequest(event, context));
  }

  @Override
  public String describe() {
    return "RequestHandler " + handler.getClass().getName();
  }
}
