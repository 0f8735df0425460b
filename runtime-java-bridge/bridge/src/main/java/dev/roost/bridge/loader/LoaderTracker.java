package dev.roost.bridge.loader;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Watches the loaders of unloaded Sandboxes through weak references until the
 * GC collects them. The count of those not yet collected is reported in Stats:
 * after a GC it should be zero, and one that stays is a leak (a thread, a
 * thread local, a cache or a static somewhere still holds the loader).
 */
public final class LoaderTracker {
  private final ReferenceQueue<ClassLoader> collected = new ReferenceQueue<>();
  private final Set<WeakReference<ClassLoader>> pending = ConcurrentHashMap.newKeySet();

  public void track(ClassLoader unloaded) {
    pending.add(new WeakReference<>(unloaded, collected));
  }

  /** Loaders of unloaded Sandboxes that the GC has not collected yet. */
  public int uncollected() {
    for (var ref = collected.poll(); ref != null; ref = collected.poll()) pending.remove(ref);
    return pending.size();
  }
}
