import { expect, test } from 'vitest';
import { Withdrawable } from './withdrawable.ts';

test('withdrawn before it starts: it never starts', () => {
  const w = new Withdrawable();
  expect(w.withdraw()).toBe(true);
  expect(w.start()).toBe(false);
  expect(w.withdrawn).toBe(true);
});

test('started before the withdrawal: it runs, and the withdrawal says so', () => {
  const w = new Withdrawable();
  expect(w.start()).toBe(true);
  // A retry on another Sandbox starts it again: still allowed.
  expect(w.start()).toBe(true);
  expect(w.withdraw()).toBe(false);
  expect(w.withdrawn).toBe(false);
});
