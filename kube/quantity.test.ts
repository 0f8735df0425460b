import { expect, test } from 'vitest';
import { parseQuantity } from './quantity.ts';

test.each([
  ['512Mi', 512 * 2 ** 20],
  ['1.5Gi', 1.5 * 2 ** 30],
  ['250m', 0.25],
  ['2', 2],
  ['1G', 1e9],
  ['100k', 1e5],
])('%s is %d', (text, value) => {
  expect(parseQuantity(text)).toBe(value);
});

test('a malformed quantity is refused with the quantity named', () => {
  expect(() => parseQuantity('12 apples')).toThrow('Cannot parse quantity "12 apples"');
});
