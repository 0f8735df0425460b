/**
 * Exponential back-off with full jitter: each failure doubles the ceiling, from
 * `initialMs` up to `maxMs`, and the wait is a random point below it so that
 * many clients retrying the same server do not retry in step.
 */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  #failures = 0;

  constructor(options: { initialMs?: number; maxMs?: number } = {}) {
    this.initialMs = options.initialMs ?? 200;
    this.maxMs = options.maxMs ?? 30_000;
  }

  /** The wait before the next attempt; counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.#failures);
    this.#failures++;
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  get failures(): number {
    return this.#failures;
  }

  reset(): void {
    this.#failures = 0;
  }
}
