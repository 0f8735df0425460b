// A token bucket: `ratePerSecond` tokens refill continuously up to `burst`;
// a request takes one or is refused with the time until the next token.

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #updatedAt: number;
  readonly #now: () => number;

  constructor(options: { ratePerSecond: number; burst: number; now?: () => number }) {
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = options.burst;
    this.#updatedAt = this.#now();
  }

  /** Takes a token: 0 if granted, else the milliseconds until one is available. */
  take(): number {
    const wait = this.waitMs();
    if (wait === 0) this.#tokens -= 1;
    return wait;
  }

  /** 0 if a token is there now, else the milliseconds until one is; takes nothing. */
  waitMs(): number {
    const now = this.#now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#updatedAt) / 1000) * this.ratePerSecond,
    );
    this.#updatedAt = now;
    if (this.#tokens >= 1) return 0;
    return ((1 - this.#tokens) / this.ratePerSecond) * 1000;
  }
}
