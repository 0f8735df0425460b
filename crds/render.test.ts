import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { renderCrdFiles } from './render.ts';

test.each(renderCrdFiles())(
  'crds/%s is current (run `npm run generate:crds` after editing crds/*.ts)',
  (file, text) => {
    expect(readFileSync(join(import.meta.dirname, file), 'utf8')).toBe(text);
  },
);
