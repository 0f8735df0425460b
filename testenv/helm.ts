// `npm run helm -- <args>`: Helm 3, built from the Go module proxy once and
// cached (testenv/go/helm), run with the arguments given.
import { spawn } from 'node:child_process';
import { ensureHelm } from './binaries.ts';

const helm = await ensureHelm();
const child = spawn(helm, process.argv.slice(2), { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
