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
  readonly #durations: number[] = [];
  readonly #window: number;

  constructor(window = 1024) {
    this.#window = window;
  }

  record(record: InvocationRecord): void {
    this.invocations++;
    if (record.error) this.errors++;
    if (record.timeout) this.timeouts++;
    if (record.coldStart) this.coldStarts++;
    if (record.cpuMicros) this.cpuSeconds += record.cpuMicros / 1e6;
    if (record.allocatedBytes) this.allocatedBytes += record.allocatedBytes;
    this.#durations.push(record.durationMs);
    if (this.#durations.length > this.#window) this.#durations.shift();
  }

  percentile(p: number): number {
    if (this.#durations.length === 0) return 0;
    const sorted = [...this.#durations].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  }
}
