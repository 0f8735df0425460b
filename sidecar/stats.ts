// Counters and latency percentiles of one Sandbox, for the Stats RPC and
// `roost stats`. Percentiles come from the most recent invocations (a ring),
// which is what an operator asks about ("how slow is it now").

export interface InvocationRecord {
  durationMs: number;
  error: boolean;
  timeout: boolean;
  coldStart: boolean;
  cpuMicros?: number;
  allocatedBytes?: number;
}

export class SandboxStats {
  invocations = 0;
  errors = 0;
  timeouts = 0;
  coldStarts = 0;
  cpuSeconds = 0;
  rssBytes = 0;
  allocatedBytes = 0;
  /** The last `window` durations, a ring: recording one moves no other. */
  readonly #durations: Float64Array;
  #next = 0;
  #count = 0;

  constructor(window = 1024) {
    this.#durations = new Float64Array(window);
  }

  record(record: InvocationRecord): void {
    this.invocations++;
    if (record.error) this.errors++;
    if (record.timeout) this.timeouts++;
    if (record.coldStart) this.coldStarts++;
    if (record.cpuMicros) this.cpuSeconds += record.cpuMicros / 1e6;
    if (record.allocatedBytes) this.allocatedBytes += record.allocatedBytes;
    this.#durations[this.#next] = record.durationMs;
    this.#next = (this.#next + 1) % this.#durations.length;
    if (this.#count < this.#durations.length) this.#count++;
  }

  percentile(p: number): number {
    if (this.#count === 0) return 0;
    // Typed arrays sort numerically.
    const sorted = this.#durations.slice(0, this.#count).sort();
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  }
}
