import { expect, test } from 'vitest';
import { formatAge, formatTable } from './output.ts';

test('a table has capitalised headers and columns padded to the widest cell', () => {
  expect(
    formatTable(
      ['name', 'ready', 'age'],
      [
        ['hello', '1/1', '5s'],
        ['a-longer-name', '0/1', '3m'],
      ],
    ),
  ).toBe(
    [
      'NAME            READY   AGE',
      'hello           1/1     5s',
      'a-longer-name   0/1     3m',
      '',
    ].join('\n'),
  );
});

test.each([
  [5, '5s'],
  [119, '119s'],
  [150, '2m30s'],
  [600, '10m'],
  [3 * 3600 + 120, '3h2m'],
  [10 * 3600, '10h'],
  [3 * 86400 + 3600, '3d1h'],
  [40 * 86400, '40d'],
])('an object %d s old is %s old', (seconds, shown) => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  expect(formatAge(new Date(now - seconds * 1000).toISOString(), now)).toBe(shown);
});
