import { describe, expect, test } from 'vitest';
import { addCounts, latencyQuantile, RevisionStats } from './revision-stats.ts';

describe('revision stats', () => {
  test('count requests, 5xx as errors, and latency per revision', () => {
    const stats = new RevisionStats();
    for (let i = 0; i < 90; i++) stats.record('ns', 'fn', 3, 200, 4);
    for (let i = 0; i < 10; i++) stats.record('ns', 'fn', 4, i < 2 ? 502 : 200, 40);
    stats.record('ns', 'fn', 4, 429, 1);
    const [three, four] = stats.report('g').revisions;
    expect(three).toMatchObject({ revision: 3, requests: 90, errors: 0 });
    expect(four).toMatchObject({ revision: 4, requests: 11, errors: 2 });
  });

  test('the p99 interpolates within its bucket, and is Infinity past the last bound', () => {
    const stats = new RevisionStats();
    for (let i = 0; i < 100; i++) stats.record('ns', 'fn', 1, 200, 30);
    const counts = stats.report('g').revisions[0]!;
    // Every request is in the 25..50 ms bucket: the 99th of 100 lies near its top.
    expect(latencyQuantile(counts, 0.99)).toBeCloseTo(49.75, 1);
    stats.record('ns', 'fn', 1, 200, 60_000);
    stats.record('ns', 'fn', 1, 200, 60_000);
    expect(latencyQuantile(stats.report('g').revisions[0]!, 0.99)).toBe(Infinity);
  });

  test('a window is the difference of two reads, never negative', () => {
    const stats = new RevisionStats();
    stats.record('ns', 'fn', 1, 200, 3);
    const before = stats.report('g').revisions[0]!;
    stats.record('ns', 'fn', 1, 500, 3);
    const after = stats.report('g').revisions[0]!;
    expect(addCounts(after, before, -1)).toMatchObject({ requests: 1, errors: 1 });
    expect(addCounts(before, after, -1).requests).toBe(0);
  });
});
