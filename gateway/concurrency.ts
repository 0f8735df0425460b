// In-flight requests of one function at this gateway, and their average over
// the last whole second: what the autoscaler scales on. An average of
// concurrency, not a count of completions, so that a function busy with long
// requests is never scaled away under them.

export class ConcurrencyTracker {
  readonly #now: () => number;
  #inFlight = 0;
  /** When #inFlight last changed (or was accumulated). */
  #since: number;
  #windowStart: number;
  /** Integral of in-flight over time in the current window, in request-milliseconds. */
  #area = 0;
  #lastSecondAverage = 0;
  #requestsThisSecond = 0;
  #lastSecondRequests = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#since = now();
    this.#windowStart = this.#since;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** The average in-flight over the last completed window. */
  get average(): number {
    return this.#lastSecondAverage;
  }

  /** Requests that started in the last completed window. */
  get requests(): number {
    return this.#lastSecondRequests;
  }

  start(): void {
    this.#accumulate();
    this.#inFlight++;
    this.#requestsThisSecond++;
  }

  finish(): void {
    this.#accumulate();
    this.#inFlight--;
  }

  /** Closes the current window; the gateway calls it every second. */
  tick(): void {
    this.#accumulate();
    const elapsed = this.#since - this.#windowStart;
    this.#lastSecondAverage = elapsed > 0 ? this.#area / elapsed : this.#inFlight;
    this.#lastSecondRequests = this.#requestsThisSecond;
    this.#area = 0;
    this.#requestsThisSecond = 0;
    this.#windowStart = this.#since;
  }

  #accumulate(): void {
    const now = this.#now();
    this.#area += this.#inFlight * (now - this.#since);
    this.#since = now;
  }
}
