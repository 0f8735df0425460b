// `npm test` runs this first (pretest): everything the suite runs must exist,
// built once and reused: the control-plane binaries and the Java build.
import { ensureBinaries } from './binaries.ts';
import { ensureJavaBuild } from './java-build.ts';

await ensureBinaries();
await ensureJavaBuild();
