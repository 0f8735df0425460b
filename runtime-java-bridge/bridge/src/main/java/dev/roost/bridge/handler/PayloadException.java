package dev.roost.bridge.handler;

/** The payload or the result does not fit the handler's declared types. */
public final class PayloadException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PayloadException(String message, Throwable cause) {
    super(message, cause);
  }
}
