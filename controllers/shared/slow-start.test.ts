import { expect, test } from 'vitest';
import { slowStartBatch } from './slow-start.ts';

test.each([
  { count: 7, failAt: undefined, batches: [1, 2, 4], result: { succeeded: 7, skipped: 0 } },
  { count: 10, failAt: undefined, batches: [1, 2, 4, 3], result: { succeeded: 10, skipped: 0 } },
  // The first call fails: one try, nine never made.
  { count: 10, failAt: 0, batches: [1], result: { succeeded: 0, skipped: 9 } },
  // A failure in the batch of four stops after it.
  { count: 10, failAt: 4, batches: [1, 2, 4], result: { succeeded: 6, skipped: 3 } },
  { count: 0, failAt: undefined, batches: [], result: { succeeded: 0, skipped: 0 } },
])(
  '$count calls failing at $failAt run in batches $batches',
  async ({ count, failAt, batches, result }) => {
    const seen: number[] = [];
    let inBatch = 0;
    const sizes: number[] = [];
    const outcome = await slowStartBatch(count, async (i) => {
      seen.push(i);
      inBatch++;
      await Promise.resolve();
      if (inBatch > 0) {
        sizes.push(inBatch);
        inBatch = 0;
      }
      if (i === failAt) throw new Error('boom');
    });
    expect({ succeeded: outcome.succeeded, skipped: outcome.skipped }).toEqual(result);
    expect(sizes).toEqual(batches);
    if (failAt !== undefined) expect((outcome.error as Error).message).toBe('boom');
  },
);
