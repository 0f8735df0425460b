// A queued event that its sender may take back until the moment it starts:
// whichever of "start it" and "withdraw it" comes first wins, once, so that
// a withdrawn event never reaches its function and a started one is never
// reported withdrawn. (A CronTrigger with concurrencyPolicy Replace withdraws
// an earlier run that a gateway holds while its function is at zero.)
export class Withdrawable {
  #state: 'waiting' | 'started' | 'withdrawn' = 'waiting';

  /** True if it may start (and from now on cannot be withdrawn); false if it was withdrawn. */
  start(): boolean {
    if (this.#state === 'waiting') this.#state = 'started';
    return this.#state === 'started';
  }

  /** True if it is withdrawn (and will never start); false if it had started. */
  withdraw(): boolean {
    if (this.#state === 'waiting') this.#state = 'withdrawn';
    return this.#state === 'withdrawn';
  }

  get withdrawn(): boolean {
    return this.#state === 'withdrawn';
  }
}
