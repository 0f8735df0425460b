import { expect, test } from 'vitest';
import { startEarly } from './started-early.ts';

test('a rejection before anyone awaits is no unhandled rejection, and reaches whoever awaits later', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const early = startEarly(Promise.reject(new Error('patch refused')));
    await new Promise((r) => setTimeout(r, 50));
    await expect(early.result()).rejects.toThrow('patch refused');
    await expect(early.result()).rejects.toThrow('patch refused');
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a value comes through as it is', async () => {
  expect(await startEarly(Promise.resolve(42)).result()).toBe(42);
});
