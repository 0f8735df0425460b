package dev.roost.bridge.invoke;

/**
 * The last resort against function code that ignores interrupts: Thread.stop,
 * which throws ThreadDeath wherever the thread is. It works on JDK 17 to 19;
 * JDK 20 and later throw UnsupportedOperationException and JDK 26 removes the
 * method. Every use of it is here, so that on a newer JDK the bridge falls back
 * to what it does for a thread that will not stop: fail and unload the Sandbox.
 */
public final class HardStop {
  private HardStop() {}

  /** True if the stop was delivered (the thread may still catch ThreadDeath and go on). */
  @SuppressWarnings({"deprecation", "removal"})
  public static boolean stop(Thread thread) {
    try {
      thread.stop();
      return true;
    } catch (UnsupportedOperationException | LinkageError gone) {
      return false;
    }
  }
}
