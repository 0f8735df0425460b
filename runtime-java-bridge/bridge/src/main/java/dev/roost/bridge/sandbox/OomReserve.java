package dev.roost.bridge.sandbox;

/**
 * Heap held back for the bridge itself. When a function runs out of memory the
 * heap is full, and answering the call, logging and unloading all need to
 * allocate: releasing the reserve makes room for that; it is taken again once
 * the culprit is unloaded and collected.
 */
final class OomReserve {
  private static final int SIZE = Integer.getInteger("roost.bridge.oomReserveBytes", 16 * 1024 * 1024);
  private static volatile byte[] reserve = new byte[SIZE];

  private OomReserve() {}

  /** Takes the reserve at start: done lazily it would be attempted in the middle of an OutOfMemoryError. */
  static void arm() {
    rearm();
  }

  static void release() {
    reserve = null;
  }

  static void rearm() {
    if (reserve != null) return;
    try {
      reserve = new byte[SIZE];
    } catch (OutOfMemoryError stillFull) {
      // Try again after the next unload.
    }
  }
}
