import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CRD_DIRECTORIES, renderCrdFiles } from './render.ts';

test.each(
  CRD_DIRECTORIES.flatMap((dir) =>
    renderCrdFiles().map(([file, text]) => [`${dir}/${file}`, text]),
  ),
)('%s is current (run `npm run generate:crds` after editing crds/*.ts)', (path, text) => {
  expect(readFileSync(join(import.meta.dirname, '..', path), 'utf8')).toBe(text);
});
