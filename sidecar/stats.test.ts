import { describe, expect, test } from 'vitest';
import { SandboxStats } from './stats.ts';

const record = (durationMs: number) => ({
  durationMs,
  error: false,
  timeout: false,
  coldStart: false,
});

describe('SandboxStats', () => {
  test('percentiles come from the most recent invocations only, sorted as numbers', () => {
    const stats = new SandboxStats(4);
    expect(stats.percentile(50)).toBe(0);
    for (const ms of [1000, 900, 2, 10, 3, 100]) stats.record(record(ms));
    // The window holds 2, 10, 3, 100: the two slow early ones are gone.
    expect(stats.percentile(50)).toBe(3);
    expect(stats.percentile(99)).toBe(100);
    expect(stats.invocations).toBe(6);
  });

  test('before the window fills, only what was recorded counts', () => {
    const stats = new SandboxStats(8);
    stats.record(record(5));
    stats.record(record(1));
    expect(stats.percentile(50)).toBe(1);
    expect(stats.percentile(100)).toBe(5);
  });
});
