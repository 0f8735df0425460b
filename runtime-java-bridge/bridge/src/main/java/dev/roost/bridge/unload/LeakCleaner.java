package dev.roost.bridge.unload;

import java.lang.ref.Reference;
import java.lang.reflect.Field;

/**
 * Releases what other threads of the JVM still hold of an unloaded function:
 * a context class loader set to its loader, and thread-local entries whose key
 * or value is one of its classes' objects (for example on the common
 * ForkJoinPool's threads after a parallel stream). The function's own threads
 * are gone by now, and their thread locals with them.
 *
 * <p>Thread-local maps are private to java.lang; the runnable jar's manifest
 * opens java.lang for this (Add-Opens). Without that, only context class
 * loaders are reset. An entry is released by clearing its key and value, which
 * is safe while its thread runs: the map sees a stale entry and expunges it.
 */
public final class LeakCleaner {
  private static final Field THREAD_LOCALS = field(Thread.class, "threadLocals");
  private static final Field INHERITABLE_THREAD_LOCALS = field(Thread.class, "inheritableThreadLocals");
  private static final Field TABLE = THREAD_LOCALS == null ? null : field(mapClass(), "table");
  private static final Field VALUE = THREAD_LOCALS == null ? null : field(entryClass(), "value");

  private LeakCleaner() {}

  /** Returns how many references it released. */
  public static int release(ClassLoader unloaded, ClassLoader replacement) {
    int released = 0;
    for (Thread thread : allThreads()) {
      if (thread.getContextClassLoader() == unloaded) {
        thread.setContextClassLoader(replacement);
        released++;
      }
      released += clearEntries(thread, THREAD_LOCALS, unloaded);
      released += clearEntries(thread, INHERITABLE_THREAD_LOCALS, unloaded);
    }
    return released;
  }

  private static int clearEntries(Thread thread, Field mapField, ClassLoader unloaded) {
    if (mapField == null || TABLE == null || VALUE == null) return 0;
    int cleared = 0;
    try {
      Object map = mapField.get(thread);
      if (map == null) return 0;
      Object[] table = (Object[]) TABLE.get(map);
      if (table == null) return 0;
      for (Object entry : table) {
        if (entry == null) continue;
        Object key = ((Reference<?>) entry).get();
        Object value = VALUE.get(entry);
        if (!definedBy(key, unloaded) && !definedBy(value, unloaded)) continue;
        ((Reference<?>) entry).clear();
        VALUE.set(entry, null);
        cleared++;
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      // A JDK whose internals differ: leave this thread alone.
    }
    return cleared;
  }

  /** The object is of a class the loader defined, or is the loader, or one of its classes. */
  private static boolean definedBy(Object object, ClassLoader loader) {
    if (object == null) return false;
    if (object == loader) return true;
    Class<?> type = object instanceof Class<?> c ? c : object.getClass();
    for (ClassLoader l = type.getClassLoader(); l != null; l = l.getParent()) if (l == loader) return true;
    return false;
  }

  static Thread[] allThreads() {
    ThreadGroup root = Thread.currentThread().getThreadGroup();
    while (root.getParent() != null) root = root.getParent();
    Thread[] threads = new Thread[root.activeCount() + 16];
    int n;
    while ((n = root.enumerate(threads, true)) == threads.length) threads = new Thread[threads.length * 2];
    Thread[] live = new Thread[n];
    System.arraycopy(threads, 0, live, 0, n);
    return live;
  }

  private static Class<?> mapClass() {
    try {
      return Class.forName("java.lang.ThreadLocal$ThreadLocalMap");
    } catch (ClassNotFoundException e) {
      return null;
    }
  }

  private static Class<?> entryClass() {
    try {
      return Class.forName("java.lang.ThreadLocal$ThreadLocalMap$Entry");
    } catch (ClassNotFoundException e) {
      return null;
    }
  }

  private static Field field(Class<?> owner, String name) {
    if (owner == null) return null;
    try {
      Field field = owner.getDeclaredField(name);
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException notOpened) {
      return null;
    }
  }
}
