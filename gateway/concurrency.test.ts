import { expect, test } from 'vitest';
import { ConcurrencyTracker } from './concurrency.ts';

test('the average counts time in flight, not completions', () => {
  let now = 0;
  const tracker = new ConcurrencyTracker(() => now);
  tracker.start(); // one long request for the whole second
  now = 500;
  tracker.start(); // a second one for the last half
  now = 1000;
  tracker.tick();
  expect(tracker.average).toBeCloseTo(1.5);
  expect(tracker.requests).toBe(2);
  expect(tracker.inFlight).toBe(2);
  now = 2000;
  tracker.tick(); // neither finished: a long request keeps counting
  expect(tracker.average).toBeCloseTo(2);
  tracker.finish();
  tracker.finish();
  now = 3000;
  tracker.tick();
  expect(tracker.average).toBe(0);
});
