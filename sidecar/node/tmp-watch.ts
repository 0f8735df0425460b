// The size of each function's temporary directory, measured every second the
// way the kubelet measures a pod's ephemeral storage (a walk of the tree,
// summing allocated blocks), so that a function filling its disk is stopped
// as the kubelet evicts a pod over its ephemeral-storage limit. A single file
// is held to the same size by the kernel at once (RLIMIT_FSIZE, isolation.ts);
// this catches many files, within a second.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.ts';

/** Entries counted per directory tree before it is judged over its limit anyway: a million empty files fill a disk's inodes. */
const MAX_ENTRIES = 100_000;

interface Watched {
  dir: string;
  limitBytes: number;
  onOver: (usage: TmpUsage) => void;
}

export interface TmpUsage {
  bytes: number;
  entries: number;
}

export class TmpWatch {
  readonly #watched = new Set<Watched>();
  readonly #timer: NodeJS.Timeout;
  readonly #log: Logger;
  #busy = false;

  constructor(options: { intervalMs?: number; log: Logger }) {
    this.#log = options.log;
    this.#timer = setInterval(() => void this.checkNow(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Calls onOver (once) when `dir` holds more than limitBytes; returns the unwatch. */
  watch(dir: string, limitBytes: number, onOver: (usage: TmpUsage) => void): () => void {
    const entry: Watched = { dir, limitBytes, onOver };
    this.#watched.add(entry);
    return () => this.#watched.delete(entry);
  }

  async checkNow(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (const entry of [...this.#watched]) {
        const usage = await measure(entry.dir).catch((err: unknown) => {
          this.#log.debug({ dir: entry.dir, err: String(err) }, 'cannot measure a tmp directory');
          return undefined;
        });
        if (!usage || !this.#watched.has(entry)) continue;
        if (usage.bytes > entry.limitBytes || usage.entries > MAX_ENTRIES) {
          this.#watched.delete(entry);
          entry.onOver(usage);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watched.clear();
  }
}

/** Allocated bytes and entries under `dir`, links not followed. */
export async function measure(dir: string): Promise<TmpUsage> {
  const usage: TmpUsage = { bytes: 0, entries: 0 };
  const pending = [dir];
  while (pending.length > 0 && usage.entries <= MAX_ENTRIES) {
    const current = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      continue; // Removed while we looked.
    }
    for (const name of names) {
      const path = join(current, name);
      const stat = await lstat(path).catch(() => undefined);
      if (!stat) continue;
      usage.entries++;
      usage.bytes += stat.blocks * 512;
      if (stat.isDirectory()) pending.push(path);
    }
  }
  return usage;
}
