package dev.roost.bridge.guest;

/**
 * What a function gets instead of ending the JVM: thrown where it called
 * System.exit, Runtime.exit or Runtime.halt, it fails that one invocation.
 * An Error rather than an Exception, so that {@code catch (Exception e)} in the
 * function does not swallow it.
 */
public final class SystemExitError extends Error {
  private static final long serialVersionUID = 1L;

  private final int status;

  SystemExitError(String call, int status) {
    super(
        call + "(" + status + ") was called; Java functions share one JVM, so instead of exiting it "
            + "this invocation fails");
    this.status = status;
  }

  public int status() {
    return status;
  }
}
