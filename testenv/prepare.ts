// `npm test` runs this first (pretest): everything the suite runs must exist,
// built once and reused: the control-plane binaries, nats-server and the Java build.
import { ensureBinaries, ensureNats } from './binaries.ts';
import { ensureJavaBuild } from './java-build.ts';

await ensureBinaries();
await ensureNats();
await ensureJavaBuild();
