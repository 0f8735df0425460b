package dev.roost.bridge;

import java.security.AccessControlContext;
import java.security.AccessController;
import java.security.PrivilegedAction;
import java.security.ProtectionDomain;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every thread of the bridge itself is made here, in the bridge's own thread
 * group and with a clean access-control context. A new thread otherwise takes
 * both from the thread that creates it, and a pool's thread is often created
 * lazily by whoever submits first, which may be a function's thread: the bridge
 * thread would then count as the function's (take its log, be stopped when it
 * is unloaded), and on JDK 17 its inherited AccessControlContext would hold the
 * function's ProtectionDomain, and so its class loader, for as long as the
 * thread lives.
 */
public final class BridgeThreads {
  private static final ThreadGroup GROUP = new ThreadGroup(systemGroup(), "roost-bridge");

  @SuppressWarnings("removal")
  private static final AccessControlContext NO_PERMISSIONS =
      new AccessControlContext(new ProtectionDomain[] {new ProtectionDomain(null, null)});

  private BridgeThreads() {}

  /** A daemon thread in the bridge's group, not yet started. */
  public static Thread daemon(String name, Runnable body) {
    Thread thread = cleanContext(() -> new Thread(GROUP, body, name, 0, false));
    thread.setDaemon(true);
    thread.setContextClassLoader(BridgeThreads.class.getClassLoader());
    return thread;
  }

  /**
   * Runs {@code create} so that a Thread constructed in it inherits no
   * access-control context from the current thread: the same device the JDK's
   * own ForkJoinPool uses. AccessController is deprecated for removal and does
   * nothing from JDK 24 on, where threads no longer inherit a context at all.
   */
  @SuppressWarnings("removal")
  public static <T> T cleanContext(PrivilegedAction<T> create) {
    return AccessController.doPrivileged(create, NO_PERMISSIONS);
  }

  /** For executors: daemon threads named {@code prefix-1}, {@code prefix-2}, ... in the bridge's group. */
  public static ThreadFactory factory(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return body -> daemon(prefix + "-" + count.incrementAndGet(), body);
  }

  public static ThreadGroup group() {
    return GROUP;
  }

  private static ThreadGroup systemGroup() {
    ThreadGroup group = Thread.currentThread().getThreadGroup();
    while (group.getParent() != null) group = group.getParent();
    return group;
  }
}
