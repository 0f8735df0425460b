// How long a crashed function waits before it is started again, as the
// kubelet's CrashLoopBackOff: the first crash restarts at once, each further
// crash in a row doubles the wait from 1 s up to a ceiling, and a function that
// ran long enough before crashing starts counting afresh. Shared by every
// runtime, so a Node process and a Java class loader back off alike.

export interface CrashLoopBackoffOptions {
  /** A run at least this long before its crash counts as healthy (default 60 s). */
  stableRunMs?: number;
  /** The longest wait (default 60 s). */
  maxMs?: number;
}

export class CrashLoopBackoff {
  readonly #stableRunMs: number;
  readonly #maxMs: number;
  #consecutive = 0;

  constructor(options: CrashLoopBackoffOptions = {}) {
    this.#stableRunMs = options.stableRunMs ?? 60_000;
    this.#maxMs = options.maxMs ?? 60_000;
  }

  /**
   * Counts one crash of a run that started at `startedAt` (Unix ms) and
   * returns the wait before the restart: 0, then 1 s, 2 s, 4 s, ... up to maxMs.
   */
  next(startedAt: number, now = Date.now()): number {
    this.#consecutive = now - startedAt > this.#stableRunMs ? 1 : this.#consecutive + 1;
    if (this.#consecutive <= 1) return 0;
    return Math.min(this.#maxMs, 1000 * 2 ** (this.#consecutive - 2));
  }

  /** Crashes in a row so far. */
  get consecutive(): number {
    return this.#consecutive;
  }
}
