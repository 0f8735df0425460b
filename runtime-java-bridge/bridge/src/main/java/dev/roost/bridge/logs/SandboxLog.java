package dev.roost.bridge.logs;

import dev.roost.bridge.events.EventHub;
import dev.roost.v1alpha1.BridgeEvent;
import dev.roost.v1alpha1.LogEntry;
import dev.roost.v1alpha1.LogLevel;

/** Where the lines of one Sandbox go: LogEntry events tagged with its namespace and name. */
public final class SandboxLog {
  /** Longest line kept; longer output is split, so one runaway print cannot fill the heap. */
  public static final int MAX_LINE_CHARS = 64 * 1024;

  private final String namespace;
  private final String sandbox;
  private final EventHub events;

  public SandboxLog(String namespace, String sandbox, EventHub events) {
    this.namespace = namespace;
    this.sandbox = sandbox;
    this.events = events;
  }

  public void line(String stream, LogLevel level, String requestId, String message) {
    if (message.length() <= MAX_LINE_CHARS) {
      publish(stream, level, requestId, message);
      return;
    }
    for (int start = 0; start < message.length(); start += MAX_LINE_CHARS)
      publish(stream, level, requestId, message.substring(start, Math.min(message.length(), start + MAX_LINE_CHARS)));
  }

  private void publish(String stream, LogLevel level, String requestId, String message) {
    events.publish(
        BridgeEvent.newBuilder()
            .setLog(
                LogEntry.newBuilder()
                    .setNamespace(namespace)
                    .setSandbox(sandbox)
                    .setTimeMs(System.currentTimeMillis())
                    .setLevel(level)
                    .setRequestId(requestId == null ? "" : requestId)
                    .setMessage(message)
                    .setStream(stream))
            .build());
  }

  /** A line from the bridge about this Sandbox (a thread it had to stop), in the Sandbox's own log. */
  public void bridgeNotice(LogLevel level, String message) {
    line("stderr", level, "", "roost: " + message);
  }
}
