// Writes crds/*.yaml from definitions.ts, and the same files into the Helm
// chart's crds/ (Helm installs CRDs only from there): `npm run generate:crds`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_DIRECTORIES, renderCrdFiles } from './render.ts';

for (const [file, text] of renderCrdFiles()) {
  for (const dir of CRD_DIRECTORIES) {
    writeFileSync(join(import.meta.dirname, '..', dir, file), text);
    console.log(`wrote ${dir}/${file}`);
  }
}
