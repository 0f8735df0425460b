package dev.roost.bridge.guest;

import dev.roost.bridge.loader.GuestState;
import java.util.Map;

/**
 * Where a function's calls to System.exit, Runtime.exit, Runtime.halt,
 * System.getenv, Runtime.add/removeShutdownHook and Thread.interrupt, stop and
 * suspend (and ThreadGroup's) land after {@code BytecodeRewriter} has
 * rewritten its classes. Functions see this class
 * (it is shared parent-first) but have no reason to call it.
 *
 * <p>Which function is calling is told by the class that made the call: its
 * loader carries the function's environment and shutdown-hook record. Each
 * public method asks the StackWalker for its own caller, so none may be called
 * through a helper of this class.
 */
public final class Guard {
  private static final StackWalker WALKER =
      StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

  private Guard() {}

  public static void systemExit(int status) {
    throw new SystemExitError("System.exit", status);
  }

  public static void runtimeExit(Runtime runtime, int status) {
    throw new SystemExitError("Runtime.exit", status);
  }

  public static void runtimeHalt(Runtime runtime, int status) {
    throw new SystemExitError("Runtime.halt", status);
  }

  /** The function's own environment, from its LoadRequest. */
  public static Map<String, String> getenv() {
    return GuestState.of(WALKER.getCallerClass()).env();
  }

  public static String getenv(String name) {
    if (name == null) throw new NullPointerException("name");
    return GuestState.of(WALKER.getCallerClass()).env().get(name);
  }

  /** Registers the hook for real (it runs if the JVM exits while the function is loaded) and records it. */
  public static void addShutdownHook(Runtime runtime, Thread hook) {
    GuestState guest = GuestState.of(WALKER.getCallerClass());
    runtime.addShutdownHook(hook);
    guest.trackShutdownHook(hook);
  }

  public static boolean removeShutdownHook(Runtime runtime, Thread hook) {
    GuestState.of(WALKER.getCallerClass()).untrackShutdownHook(hook);
    return runtime.removeShutdownHook(hook);
  }

  /**
   * A function may interrupt, stop or suspend its own threads only: the
   * bridge's (its invocation socket, its event stream, its main thread) and
   * its neighbours' are not its to touch.
   */
  public static void threadInterrupt(Thread thread) {
    ownedBy(WALKER.getCallerClass(), thread, "interrupt").interrupt();
  }

  @SuppressWarnings("removal")
  public static void threadStop(Thread thread) {
    ownedBy(WALKER.getCallerClass(), thread, "stop").stop();
  }

  @SuppressWarnings("removal")
  public static void threadSuspend(Thread thread) {
    ownedBy(WALKER.getCallerClass(), thread, "suspend").suspend();
  }

  public static void threadGroupInterrupt(ThreadGroup group) {
    if (!GuestState.of(WALKER.getCallerClass()).owns(group))
      throw new SecurityException("a function may interrupt only its own threads, not thread group " + group.getName());
    group.interrupt();
  }

  private static Thread ownedBy(Class<?> caller, Thread thread, String what) {
    if (!GuestState.of(caller).owns(thread))
      throw new SecurityException("a function may " + what + " only its own threads, not " + thread.getName());
    return thread;
  }
}
