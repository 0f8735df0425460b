package dev.roost.bridge;

/**
 * Every way a bridge call can fail before a function runs, with the gRPC status
 * it maps to. The name travels to the client in the {@code roost-error-code}
 * trailer, so clients match on it and never on message text.
 */
public enum ErrorCode {
  /** The request itself is malformed: a sandbox id that is not "namespace/name", an empty handler. */
  ROOST_JAVA_BAD_REQUEST("INVALID_ARGUMENT"),
  ROOST_JAVA_JAR_NOT_FOUND("INVALID_ARGUMENT"),
  ROOST_JAVA_JAR_UNREADABLE("INVALID_ARGUMENT"),
  ROOST_JAVA_CLASS_NOT_FOUND("FAILED_PRECONDITION"),
  /** The class is in the jar but cannot be linked (a dependency it needs is missing). */
  ROOST_JAVA_CLASS_NOT_LOADABLE("FAILED_PRECONDITION"),
  ROOST_JAVA_NOT_A_HANDLER("FAILED_PRECONDITION"),
  ROOST_JAVA_NO_SUCH_METHOD("FAILED_PRECONDITION"),
  ROOST_JAVA_NO_CONSTRUCTOR("FAILED_PRECONDITION"),
  /** The handler's constructor or static initialiser threw. */
  ROOST_JAVA_CONSTRUCTOR_THREW("FAILED_PRECONDITION"),
  /** The handler's constructor ran past the function's timeout. */
  ROOST_JAVA_LOAD_TIMEOUT("FAILED_PRECONDITION"),
  ROOST_JAVA_SANDBOX_EXISTS("ALREADY_EXISTS"),
  ROOST_JAVA_SANDBOX_NOT_FOUND("NOT_FOUND"),
  /** The Sandbox is still loading or is unloading: not routable. */
  ROOST_JAVA_SANDBOX_NOT_READY("FAILED_PRECONDITION"),
  ROOST_JAVA_QUEUE_FULL("RESOURCE_EXHAUSTED"),
  ROOST_JAVA_UNAUTHENTICATED("UNAUTHENTICATED");

  private final String grpcStatus;

  ErrorCode(String grpcStatus) {
    this.grpcStatus = grpcStatus;
  }

  /** The name of the io.grpc.Status.Code this error is reported with. */
  public String grpcStatus() {
    return grpcStatus;
  }
}
