package dev.roost.bridge.invoke;

import com.google.protobuf.ByteString;
import dev.roost.v1alpha1.FunctionError;
import dev.roost.v1alpha1.InvokeResponse;
import java.util.ArrayList;
import java.util.List;

/** The InvokeResponse for each way an invocation can end. */
public final class Outcomes {
  private static final int MAX_STACK_LINES = 100;

  private Outcomes() {}

  public static InvokeResponse.Builder success(byte[] result) {
    return InvokeResponse.newBuilder().setResult(ByteString.copyFrom(result));
  }

  /** The handler threw: its exception's class, message and stack, as Lambda reports them. */
  public static InvokeResponse.Builder unhandled(Throwable error) {
    return InvokeResponse.newBuilder()
        .setError(FunctionError.FUNCTION_ERROR_UNHANDLED)
        .setErrorType(error.getClass().getName())
        .setErrorMessage(String.valueOf(error.getMessage()))
        .addAllStackTrace(functionStack(error));
  }

  public static InvokeResponse.Builder timeout(long timeoutMs) {
    return InvokeResponse.newBuilder()
        .setError(FunctionError.FUNCTION_ERROR_TIMEOUT)
        .setErrorType("Timeout")
        .setErrorMessage("the invocation ran past its timeout of " + timeoutMs + " ms and was stopped");
  }

  public static InvokeResponse.Builder outOfMemory(OutOfMemoryError error) {
    return InvokeResponse.newBuilder()
        .setError(FunctionError.FUNCTION_ERROR_OUT_OF_MEMORY)
        .setErrorType(error.getClass().getName())
        .setErrorMessage(
            error.getMessage() + "; the function is unloaded so that the functions sharing its JVM keep running")
        .addAllStackTrace(functionStack(error));
  }

  public static InvokeResponse.Builder crashed(String why) {
    return InvokeResponse.newBuilder()
        .setError(FunctionError.FUNCTION_ERROR_CRASHED)
        .setErrorType("Crashed")
        .setErrorMessage(why);
  }

  /**
   * The frames of the function's own code, with its causes: the bridge's frames
   * below the handler and the guard's frames above a rewritten exit are cut.
   */
  static List<String> functionStack(Throwable error) {
    List<String> lines = new ArrayList<>();
    boolean first = true;
    for (Throwable t = error; t != null && lines.size() < MAX_STACK_LINES; t = t.getCause()) {
      if (!first) lines.add("Caused by: " + t);
      first = false;
      boolean top = true;
      for (StackTraceElement frame : t.getStackTrace()) {
        String className = frame.getClassName();
        if (top && className.startsWith("dev.roost.bridge.guest.")) continue;
        top = false;
        if (className.startsWith("dev.roost.bridge.")) break;
        if (lines.size() >= MAX_STACK_LINES) break;
        lines.add(describe(frame));
      }
    }
    return lines;
  }

  /** As Lambda prints frames: without the loader and module prefix that JDK 9+ adds. */
  private static String describe(StackTraceElement frame) {
    String where =
        frame.isNativeMethod()
            ? "Native Method"
            : frame.getFileName() == null
                ? "Unknown Source"
                : frame.getLineNumber() >= 0 ? frame.getFileName() + ":" + frame.getLineNumber() : frame.getFileName();
    return frame.getClassName() + "." + frame.getMethodName() + "(" + where + ")";
  }
}
