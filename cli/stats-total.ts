// A function's statistics summed over its Sandboxes. Counts, CPU and memory
// add up; percentiles do not, so the total's p50 is the invocation-weighted
// mean of the Sandboxes' p50s and its p99 the largest p99 (an upper bound).
import type { SandboxStatsMessage } from '../proto/sandbox-host.ts';

export interface SandboxStats extends SandboxStatsMessage {
  /** The host pod it runs on. */
  pod: string;
}

export interface StatsTotal {
  sandboxes: number;
  invocations: number;
  errors: number;
  timeouts: number;
  coldStarts: number;
  p50Ms: number;
  p99Ms: number;
  cpuSeconds: number;
  rssBytes: number;
}

export interface FunctionStats {
  namespace: string;
  name: string;
  sandboxes: SandboxStats[];
  total: StatsTotal;
}

export function totalOf(sandboxes: SandboxStatsMessage[]): StatsTotal {
  const sum = (pick: (s: SandboxStatsMessage) => number) =>
    sandboxes.reduce((n, s) => n + pick(s), 0);
  const invocations = sum((s) => s.invocations);
  return {
    sandboxes: sandboxes.length,
    invocations,
    errors: sum((s) => s.errors),
    timeouts: sum((s) => s.timeouts),
    coldStarts: sum((s) => s.coldStarts),
    p50Ms: invocations === 0 ? 0 : sum((s) => s.p50Ms * s.invocations) / invocations,
    p99Ms: sandboxes.reduce((max, s) => Math.max(max, s.p99Ms), 0),
    cpuSeconds: sum((s) => s.cpuSeconds),
    rssBytes: sum((s) => s.rssBytes),
  };
}
