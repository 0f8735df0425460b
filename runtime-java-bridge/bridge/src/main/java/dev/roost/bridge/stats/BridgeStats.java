package dev.roost.bridge.stats;

import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.sandbox.Sandboxes;
import dev.roost.v1alpha1.BridgeStatsResponse;
import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;

/** The JVM-wide figures the sidecar reports and the tests check leaks with. */
public final class BridgeStats {
  private BridgeStats() {}

  public static BridgeStatsResponse collect(Sandboxes sandboxes, EventHub events) {
    ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    return BridgeStatsResponse.newBuilder()
        .setHeapUsedBytes(heap.getUsed())
        .setHeapMaxBytes(Math.max(0, heap.getMax()))
        .setMetaspaceUsedBytes(metaspaceUsed())
        .setLoadedSandboxes(sandboxes.ready())
        .setLoadedClasses(classes.getLoadedClassCount())
        .setUnloadedClasses(classes.getUnloadedClassCount())
        .setUncollectedLoaders(sandboxes.uncollectedLoaders())
        .setDroppedEvents(events.dropped())
        .build();
  }

  private static long metaspaceUsed() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans())
      if (pool.getName().equals("Metaspace")) return pool.getUsage().getUsed();
    return 0;
  }
}
