import { expect, test } from 'vitest';
import type { SandboxStatsMessage } from '../proto/sandbox-host.ts';
import { totalOf } from './stats-total.ts';

const stats = (invocations: number, p50Ms: number, p99Ms: number): SandboxStatsMessage => ({
  namespace: 'default',
  sandbox: `s${invocations}`,
  deployment: 'hello',
  runtime: 'nodejs',
  invocations,
  errors: 1,
  timeouts: 0,
  coldStarts: 1,
  p50Ms,
  p99Ms,
  cpuSeconds: 0.5,
  rssBytes: 10,
  inFlight: 0,
  restarts: 0,
  hibernated: false,
  allocatedBytes: 0,
});

test('counts add up; p50 is weighted by invocations and p99 is the largest', () => {
  expect(totalOf([stats(30, 2, 10), stats(10, 6, 40)])).toEqual({
    sandboxes: 2,
    invocations: 40,
    errors: 2,
    timeouts: 0,
    coldStarts: 2,
    p50Ms: 3,
    p99Ms: 40,
    cpuSeconds: 1,
    rssBytes: 20,
  });
});

test('no Sandbox, no invocation: all zero', () => {
  expect(totalOf([]).p50Ms).toBe(0);
});
