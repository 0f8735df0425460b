// Writes crds/*.yaml from definitions.ts: `npm run generate:crds`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from './render.ts';

for (const [file, text] of renderCrdFiles()) {
  writeFileSync(join(import.meta.dirname, file), text);
  console.log(`wrote crds/${file}`);
}
