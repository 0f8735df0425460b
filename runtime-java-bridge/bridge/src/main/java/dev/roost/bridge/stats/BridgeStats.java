package dev.roost.bridge.stats;

import dev.roost.bridge.events.EventHub;
import dev.roost.bridge.sandbox.Sandboxes;
import dev.roost.v1alpha1.BridgeStatsResponse;
import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;

/** The JVM-wide figures the sidecar reports and the tests check leaks with. */
public final class BridgeStats {
  private BridgeStats() {}

  public static BridgeStatsResponse collect(Sandboxes sandboxes, EventHub events) {
    ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
    return BridgeStatsResponse.newBuilder()
        .setHeapUsedBytes(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed())
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
