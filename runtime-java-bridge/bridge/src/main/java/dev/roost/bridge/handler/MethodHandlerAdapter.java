package dev.roost.bridge.handler;

import com.amazonaws.services.lambda.runtime.Context;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;

/**
 * A plain public method named by the handler string, in one of the shapes
 * AWS Lambda accepts: {@code (I)}, {@code (I, Context)}, {@code ()},
 * {@code (InputStream, OutputStream)} or {@code (InputStream, OutputStream, Context)}.
 * The method handle is adapted once to a fixed shape, so a call is an
 * invokeExact with no reflection and no wrapped exceptions.
 */
final class MethodHandlerAdapter implements HandlerAdapter {
  enum Shape {
    NO_INPUT,
    INPUT,
    INPUT_CONTEXT,
    STREAMS,
    STREAMS_CONTEXT
  }

  private final Method method;
  private final Shape shape;
  private final MethodHandle call;
  private final ObjectReader input;
  private final ObjectWriter output;

  /** {@code target} is already bound to the instance for an instance method. */
  MethodHandlerAdapter(Method method, Shape shape, MethodHandle target, ObjectReader input, ObjectWriter output) {
    this.method = method;
    this.shape = shape;
    this.input = input;
    this.output = output;
    MethodType fixed =
        switch (shape) {
          case NO_INPUT -> MethodType.methodType(Object.class);
          case INPUT -> MethodType.methodType(Object.class, Object.class);
          case INPUT_CONTEXT -> MethodType.methodType(Object.class, Object.class, Context.class);
          case STREAMS -> MethodType.methodType(void.class, InputStream.class, OutputStream.class);
          case STREAMS_CONTEXT -> MethodType.methodType(void.class, InputStream.class, OutputStream.class, Context.class);
        };
    this.call = target.asType(fixed);
  }

  @Override
  public byte[] invoke(byte[] payload, Context context) throws Throwable {
    switch (shape) {
      case STREAMS, STREAMS_CONTEXT -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = new ByteArrayInputStream(payload);
        if (shape == Shape.STREAMS) call.invokeExact(in, (OutputStream) out);
        else call.invokeExact(in, (OutputStream) out, context);
        return out.toByteArray();
      }
      default -> {
        Object result =
            switch (shape) {
              case NO_INPUT -> (Object) call.invokeExact();
              case INPUT -> (Object) call.invokeExact(JsonCodec.read(input, payload));
              default -> (Object) call.invokeExact(JsonCodec.read(input, payload), context);
            };
        return method.getReturnType() == void.class ? JsonCodec.empty() : JsonCodec.write(output, result);
      }
    }
  }

  @Override
  public String describe() {
    return "method " + method.getDeclaringClass().getName() + "::" + method.getName();
  }
}
