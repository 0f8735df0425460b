import { expect, test } from 'vitest';
import { BodyBudget } from './body-budget.ts';

test('reservations fit within the limit, are refused whole beyond it, and come back on release', () => {
  const budget = new BodyBudget(10);
  expect(budget.tryReserve(6)).toBe(true);
  expect(budget.tryReserve(6)).toBe(false);
  expect(budget.usedBytes).toBe(6);
  expect(budget.tryReserve(4)).toBe(true);
  budget.release(6);
  budget.release(4);
  expect(budget.usedBytes).toBe(0);
  expect(() => new BodyBudget(0)).toThrow(/whole number of bytes >= 1/);
});
