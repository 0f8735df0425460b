// The memory the gateway spends on request bodies, as a budget of bytes
// shared by every request: a body is reserved as it is admitted (all of its
// declared length up front, so that a flood of large uploads is refused
// before one byte of it is read) or chunk by chunk when its length is not
// declared, and given back when its response has been sent. A request that
// does not fit is refused (503, retry shortly) instead of the gateway growing
// without bound; one larger than the whole budget could never fit (413).

export class BodyBudget {
  readonly limitBytes: number;
  #used = 0;

  constructor(limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 1)
      throw new RangeError(
        `Cannot make a body budget: the limit must be a whole number of bytes >= 1, not ${limitBytes}`,
      );
    this.limitBytes = limitBytes;
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Takes `bytes` from the budget if they fit; false (and nothing taken) if not. */
  tryReserve(bytes: number): boolean {
    if (this.#used + bytes > this.limitBytes) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
