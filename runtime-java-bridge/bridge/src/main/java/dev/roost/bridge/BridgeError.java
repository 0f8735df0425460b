package dev.roost.bridge;

/** A failure of a bridge call with a stable code and a message a person can act on. */
public final class BridgeError extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public BridgeError(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public BridgeError(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
