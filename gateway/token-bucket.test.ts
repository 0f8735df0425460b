import { expect, test } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

test('a burst is granted at once, then tokens come at the rate', () => {
  let now = 0;
  const bucket = new TokenBucket({ ratePerSecond: 2, burst: 3, now: () => now });
  expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
  expect(bucket.take()).toBeCloseTo(500);
  now += 500;
  expect(bucket.take()).toBe(0);
  expect(bucket.take()).toBeCloseTo(500);
  now += 10_000;
  expect([bucket.take(), bucket.take(), bucket.take(), bucket.take() > 0]).toEqual([0, 0, 0, true]);
});
