// Whether this process can currently hear from the API server, and since
// when without a break. A controller that judges others by silence (a host
// pod whose Lease stopped changing) must not mistake its own deafness for
// theirs: while the API server is paused, partitioned or without etcd, no
// Lease update reaches anyone, and after it comes back every heartbeat looks
// old. Kubernetes' node lifecycle controller treats such a stretch as no
// evidence (a fully disrupted zone evicts nothing); this is the same idea for
// one API server: a cheap probe on a short interval, each with its own
// deadline so that a hung server counts as unreachable rather than as slow.
import type { KubeClient } from './client.ts';
import { sleep } from '../lib/duration.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export interface ApiContactOptions {
  /** How often to probe (default 1 s). */
  intervalMs?: number;
  /** A probe not answered within this long has failed (default 2 s). */
  probeTimeoutMs?: number;
  /** No answer for this long means cut off (default 4 s: a few missed probes, not one slow one). */
  cutOffAfterMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export class ApiContact {
  readonly #intervalMs: number;
  readonly #probeTimeoutMs: number;
  readonly #cutOffAfterMs: number;
  readonly #now: () => number;
  #lastAnswerAt: number | undefined;
  #unbrokenSince: number | undefined;

  constructor(options: ApiContactOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 2000;
    this.#cutOffAfterMs = options.cutOffAfterMs ?? 4000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Since when this process has heard from the API server without a break
   * longer than the cut-off; undefined while it is cut off (or has not heard
   * from it yet). Silence of others counts only from this moment.
   */
  unbrokenSince(): number | undefined {
    const now = this.#now();
    if (this.#lastAnswerAt === undefined || now - this.#lastAnswerAt > this.#cutOffAfterMs)
      return undefined;
    return this.#unbrokenSince;
  }

  /** Records an answer from the API server (a probe, or any request that succeeded). */
  heard(): void {
    const now = this.#now();
    if (this.#lastAnswerAt === undefined || now - this.#lastAnswerAt > this.#cutOffAfterMs)
      this.#unbrokenSince = now;
    this.#lastAnswerAt = now;
  }

  /** Probes /readyz (which fails when etcd does) until `signal` aborts. */
  async run(client: KubeClient, log: Logger, signal: AbortSignal): Promise<void> {
    let cutOff = false;
    while (!signal.aborted) {
      const probe = AbortSignal.any([signal, AbortSignal.timeout(this.#probeTimeoutMs)]);
      try {
        await client.raw('GET', '/readyz', undefined, { signal: probe });
        if (cutOff) log.info('the API server answers again; judging silence afresh from now');
        cutOff = false;
        this.heard();
      } catch (err) {
        if (signal.aborted) break;
        if (!cutOff && this.unbrokenSince() === undefined) {
          cutOff = true;
          log.warn(
            { err: errorMessage(err) },
            'cannot reach the API server; treating silence as no evidence until it answers',
          );
        }
      }
      await sleep(this.#intervalMs, signal);
    }
  }
}
