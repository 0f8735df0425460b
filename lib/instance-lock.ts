// One local cluster per checkout: a lock file holding the owner's pid. A lock
// whose process is gone (killed, machine rebooted) is taken over.
import { processExists } from './process.ts';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RoostError } from './errors.ts';

export class AlreadyRunningError extends RoostError {
  readonly pid: number;
  constructor(what: string, pid: number, lockFile: string) {
    super(
      'ROOST_ALREADY_RUNNING',
      `Cannot start ${what}: one is already running (pid ${pid}, lock ${lockFile}). Stop it with Ctrl-C or \`kill ${pid}\` first.`,
    );
    this.pid = pid;
  }
}

/** Takes the lock or throws AlreadyRunningError; returns its release function. */
export function acquireInstanceLock(lockFile: string, what: string): () => void {
  mkdirSync(dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (Number.isFinite(owner) && owner !== process.pid && processExists(owner))
        throw new AlreadyRunningError(what, owner, lockFile);
      rmSync(lockFile, { force: true });
    }
  }
}
