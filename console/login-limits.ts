// Failed logins cost an attacker their chances: each client address may fail
// a few times in a row, then waits, and all clients together may fail only
// so often (every token tried is a TokenReview on the API server). A person
// who mistypes once is never slowed down; a guesser is, and hears 429 with
// Retry-After. Successful logins take nothing.
import { TokenBucket } from '../gateway/token-bucket.ts';

export interface LoginLimits {
  /** Failures a client may have in a row before it waits (default 10). */
  clientBurst: number;
  /** How fast a client earns a try back (default one per 6 s). */
  clientPerSecond: number;
  /** Failures all clients together may have at once (default 100), and their rate (default 2/s). */
  totalBurst: number;
  totalPerSecond: number;
}

const DEFAULTS: LoginLimits = {
  clientBurst: 10,
  clientPerSecond: 1 / 6,
  totalBurst: 100,
  totalPerSecond: 2,
};
/** Clients remembered at most: beyond, the quietest are forgotten (they had refilled anyway). */
const MAX_CLIENTS = 10_000;

export class LoginLimiter {
  readonly #limits: LoginLimits;
  readonly #clients = new Map<string, TokenBucket>();
  readonly #total: TokenBucket;

  constructor(limits: Partial<LoginLimits> = {}) {
    this.#limits = { ...DEFAULTS, ...limits };
    this.#total = new TokenBucket({
      ratePerSecond: this.#limits.totalPerSecond,
      burst: this.#limits.totalBurst,
    });
  }

  /** 0 if `client` may try to log in now, else the milliseconds until it may. */
  waitMs(client: string): number {
    return Math.max(this.#clients.get(client)?.waitMs() ?? 0, this.#total.waitMs());
  }

  /** A login from `client` failed: it costs one try. */
  failed(client: string): void {
    let bucket = this.#clients.get(client);
    if (!bucket) {
      if (this.#clients.size >= MAX_CLIENTS)
        this.#clients.delete(this.#clients.keys().next().value!);
      bucket = new TokenBucket({
        ratePerSecond: this.#limits.clientPerSecond,
        burst: this.#limits.clientBurst,
      });
    }
    // Most recently failing last, so the map's first key is the quietest.
    this.#clients.delete(client);
    this.#clients.set(client, bucket);
    bucket.take();
    this.#total.take();
  }
}
