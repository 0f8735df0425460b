import { expect, test } from 'vitest';
import { LoginLimiter } from './login-limits.ts';

test('a client may fail a few times, then waits; another client does not', () => {
  const limiter = new LoginLimiter({ clientBurst: 3, clientPerSecond: 0.5 });
  for (let i = 0; i < 3; i++) {
    expect(limiter.waitMs('10.0.0.1')).toBe(0);
    limiter.failed('10.0.0.1');
  }
  const wait = limiter.waitMs('10.0.0.1');
  expect(wait).toBeGreaterThan(1500);
  expect(wait).toBeLessThanOrEqual(2000);
  expect(limiter.waitMs('10.0.0.2')).toBe(0);
});

test('many clients failing together are limited as a whole', () => {
  const limiter = new LoginLimiter({ totalBurst: 5, totalPerSecond: 1 });
  for (let i = 0; i < 5; i++) limiter.failed(`10.0.1.${i}`);
  expect(limiter.waitMs('10.0.2.1')).toBeGreaterThan(0);
});
