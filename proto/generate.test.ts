// The message types in proto/generated must be what proto-loader's generator
// makes of the .proto files today: a field added to a .proto without
// `npm run generate:proto` fails here, not at run time.
import { expect, test } from 'vitest';
import { current, generate } from './generate.ts';

test('proto/generated is what npm run generate:proto makes of the .proto files', () => {
  const want = generate();
  const have = current();
  const stale = [...want.keys()].filter((path) => have.get(path) !== want.get(path));
  const extra = [...have.keys()].filter((path) => !want.has(path));
  expect(
    { stale, extra },
    'proto/generated is stale: run `npm run generate:proto` and commit the result',
  ).toEqual({ stale: [], extra: [] });
  expect(want.size).toBeGreaterThan(20);
});
