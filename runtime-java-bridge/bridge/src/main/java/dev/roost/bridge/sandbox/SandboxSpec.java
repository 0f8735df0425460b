package dev.roost.bridge.sandbox;

import dev.roost.v1alpha1.LoadRequest;
import java.util.Map;

/** What a Sandbox was loaded with, defaults applied as the Sandbox API defines them. */
public record SandboxSpec(
    String functionName,
    String functionVersion,
    int memoryMiB,
    int timeoutMs,
    int concurrency,
    int maxQueued,
    Map<String, String> env) {
  static final int DEFAULT_MEMORY_MIB = 128;
  static final int DEFAULT_TIMEOUT_MS = 30_000;

  static SandboxSpec of(LoadRequest request, SandboxId id, int maxQueued) {
    return new SandboxSpec(
        request.getFunctionName().isEmpty() ? id.name() : request.getFunctionName(),
        request.getFunctionVersion().isEmpty() ? "$LATEST" : request.getFunctionVersion(),
        request.getMemoryMib() == 0 ? DEFAULT_MEMORY_MIB : request.getMemoryMib(),
        request.getTimeoutMs() == 0 ? DEFAULT_TIMEOUT_MS : request.getTimeoutMs(),
        Math.max(1, request.getConcurrency()),
        maxQueued,
        Map.copyOf(request.getEnvMap()));
  }
}
