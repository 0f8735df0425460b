import { describe, expect, test } from 'vitest';
import { InvocationLimiter, LimiterClosedError, LimiterFullError } from './invocation-limiter.ts';

describe('InvocationLimiter', () => {
  test('tryAcquire takes a free place at once, and none past the concurrency or before a queued caller', async () => {
    const limiter = new InvocationLimiter({ concurrency: 2, queueLimit: 1 });
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const queued = limiter.acquire();
    await expect(limiter.acquire()).rejects.toBeInstanceOf(LimiterFullError);
    // The released place goes to the queued caller, not to a newcomer.
    limiter.release();
    await queued;
    expect(limiter.tryAcquire()).toBe(false);
    expect(limiter.inFlight).toBe(2);
    limiter.release();
    expect(limiter.tryAcquire()).toBe(true);
  });

  test('a closed limiter gives no place', async () => {
    const limiter = new InvocationLimiter({ concurrency: 4, queueLimit: 4 });
    limiter.close();
    expect(limiter.tryAcquire()).toBe(false);
    await expect(limiter.acquire()).rejects.toBeInstanceOf(LimiterClosedError);
  });
});
