package dev.roost.bridge.handler;

import com.amazonaws.services.lambda.runtime.Context;

/** One way of calling a function: JSON bytes in, JSON bytes out. */
public interface HandlerAdapter {
  /**
   * Runs the handler once on the calling thread.
   *
   * @throws Throwable whatever the handler threw, unwrapped
   */
  byte[] invoke(byte[] payload, Context context) throws Throwable;

  /** For errors and logs: "RequestHandler com.example.Hello". */
  String describe();
}
