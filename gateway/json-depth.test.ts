import { expect, test } from 'vitest';
import { jsonDepth } from './json-depth.ts';

test.each([
  ['a scalar', '42', 0],
  ['a flat object', '{"a":1,"b":[1,2]}', 2],
  ['brackets inside strings do not count', '{"a":"[[[{{{\\"]]]"}', 1],
  ['5000 nested arrays, without recursion', '['.repeat(5000) + ']'.repeat(5000), 5000],
])('%s', (_name, text, want) => {
  expect(jsonDepth(text)).toBe(want);
});
