// At most `concurrency` invocations of a Sandbox in flight; up to `queueLimit`
// more wait in order; beyond that a caller is refused at once, so that an
// overloaded function answers "overloaded" instead of timing everyone out.
import { RoostError } from '../lib/errors.ts';

export class LimiterFullError extends RoostError {
  constructor() {
    super('ROOST_LIMITER_FULL', 'the invocation queue is full');
  }
}

export class LimiterClosedError extends RoostError {
  constructor() {
    super('ROOST_LIMITER_CLOSED', 'the invocation limiter is closed');
  }
}

export class InvocationLimiter {
  readonly concurrency: number;
  readonly queueLimit: number;
  #inFlight = 0;
  #closed = false;
  readonly #waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(options: { concurrency: number; queueLimit: number }) {
    this.concurrency = options.concurrency;
    this.queueLimit = options.queueLimit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Takes a place if one is free now (nothing queued before it); false otherwise. */
  tryAcquire(): boolean {
    if (this.#closed || this.#inFlight >= this.concurrency) return false;
    this.#inFlight++;
    return true;
  }

  /** Resolves when the caller may run; throws LimiterFullError or LimiterClosedError. */
  acquire(): Promise<void> {
    if (this.#closed) return Promise.reject(new LimiterClosedError());
    if (this.#inFlight < this.concurrency) {
      this.#inFlight++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.queueLimit) return Promise.reject(new LimiterFullError());
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) {
      next.resolve();
      return;
    }
    this.#inFlight--;
    if (this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Refuses new and queued callers; in-flight ones finish. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new LimiterClosedError());
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; true if idle. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.#idleWaiters.push(done);
    });
  }
}
