// A test's child process logs to a file of its own, so a failing test can
// show what the process said; the file's temp dir goes when the process is
// stopped, and what it held stays readable for assertions made afterwards.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProcessLog {
  file: string;
  /** Everything logged so far; after remove(), what was logged until then. */
  read(): string;
  remove(): void;
}

export function processLog(prefix: string, name: string): ProcessLog {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, `${name}.log`);
  let kept: string | undefined;
  const read = () => {
    if (kept !== undefined) return kept;
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    file,
    read,
    remove() {
      kept = read();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
