import { describe, expect, test } from 'vitest';
import { CrashLoopBackoff } from './crash-loop-backoff.ts';

describe('CrashLoopBackoff', () => {
  test('restarts at once after a first crash, then doubles the wait from 1 s', () => {
    const backoff = new CrashLoopBackoff();
    const now = 1_000_000;
    expect([1, 2, 3, 4, 5].map(() => backoff.next(now - 10, now))).toEqual([
      0, 1000, 2000, 4000, 8000,
    ]);
    expect(backoff.consecutive).toBe(5);
  });

  test('never waits longer than maxMs', () => {
    const backoff = new CrashLoopBackoff({ maxMs: 3000 });
    const waits = Array.from({ length: 8 }, () => backoff.next(0, 10));
    expect(Math.max(...waits)).toBe(3000);
  });

  test('a run longer than stableRunMs starts the count afresh', () => {
    const backoff = new CrashLoopBackoff({ stableRunMs: 5000 });
    backoff.next(0, 10);
    expect(backoff.next(0, 20)).toBe(1000);
    expect(backoff.next(0, 6000)).toBe(0);
    expect(backoff.consecutive).toBe(1);
  });
});
