import { expect, test } from 'vitest';
import { RingSeries } from './series.ts';

test('keeps the newest samples, oldest first, with gaps as null', () => {
  const series = new RingSeries(['rps', 'p99'], 3);
  for (let t = 1; t <= 5; t++) series.push(t, t === 4 ? { rps: t } : { rps: t, p99: t * 10 });
  expect(series.size).toBe(3);
  expect(series.columns()).toEqual({ t: [3, 4, 5], rps: [3, 4, 5], p99: [30, null, 50] });
});

test('sums one value over a recent window', () => {
  const series = new RingSeries(['coldStarts'], 10);
  for (let t = 1; t <= 6; t++) series.push(t * 1000, { coldStarts: 1 });
  expect(series.sumSince('coldStarts', 3000)).toBe(3);
  expect(series.sumSince('nothing', 0)).toBe(0);
});

test('refuses a capacity that is not a positive integer', () => {
  expect(() => new RingSeries(['x'], 0)).toThrow(/capacity/);
});
