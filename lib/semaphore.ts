/**
 * At most `limit` holders at once; acquire() waits for a free slot. Keeps a
 * burst of writes (the scheduler's binds) from opening more requests than the
 * API server serves well, while still overlapping their round trips.
 */
export class Semaphore {
  readonly limit: number;
  #held = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(
        `Cannot make a semaphore: limit must be a whole number >= 1, not ${limit}`,
      );
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  async acquire(): Promise<void> {
    if (this.#held < this.limit) {
      this.#held++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    // The slot passes straight to the next waiter; the count stays the same.
    if (next) next();
    else this.#held--;
  }

  /** Resolves when no slot is held. */
  async drained(): Promise<void> {
    while (this.#held > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
