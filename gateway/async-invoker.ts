// Asynchronous invocations (x-roost-invocation-type: Event): accepted with 202
// at once, then run from a bounded in-memory queue by a few workers, retried
// with back-off when the function fails or cannot be reached, as Lambda does
// for asynchronous invocations. The queue lives in this gateway's memory: if
// the gateway process dies, events still queued are lost (README says so).
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { sleep } from '../lib/duration.ts';

export interface AsyncJob {
  requestId: string;
  functionKey: string;
  /** Runs one attempt; throws or resolves false when it should be retried. */
  attempt(): Promise<boolean>;
  /** Called once when the event is done with (run, given up on, or dropped): frees its body. */
  done?(): void;
}

export interface AsyncInvokerOptions {
  /** Most events waiting (default 10 000); more are refused with 429. */
  maxQueued?: number;
  /** Events run at once (default 16). */
  workers?: number;
  /** Retries after the first attempt (default 2, as Lambda). */
  retries?: number;
  /** Back-off before the first retry, doubling after (default 1 s). */
  retryDelayMs?: number;
  log: Logger;
}

export class AsyncInvoker {
  readonly #options: AsyncInvokerOptions;
  readonly #queue: AsyncJob[] = [];
  #running = 0;
  #stopped = false;
  readonly #idle = new Set<() => void>();

  constructor(options: AsyncInvokerOptions) {
    this.#options = options;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Queues the event; false if the queue is full. */
  enqueue(job: AsyncJob): boolean {
    if (this.#stopped || this.#queue.length >= (this.#options.maxQueued ?? 10_000)) return false;
    this.#queue.push(job);
    this.#pump();
    return true;
  }

  /** Resolves when nothing is queued or running (tests, graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#queue.length > 0)
      this.#options.log.warn(
        { dropped: this.#queue.length },
        'gateway stopping with asynchronous events still queued; they are lost',
      );
    for (const job of this.#queue.splice(0)) job.done?.();
  }

  #pump(): void {
    while (this.#running < (this.#options.workers ?? 16) && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running++;
      void this.#run(job).finally(() => {
        job.done?.();
        this.#running--;
        this.#pump();
        if (this.#queue.length === 0 && this.#running === 0)
          for (const resolve of this.#idle) resolve();
        if (this.#queue.length === 0 && this.#running === 0) this.#idle.clear();
      });
    }
  }

  async #run(job: AsyncJob): Promise<void> {
    const retries = this.#options.retries ?? 2;
    let delay = this.#options.retryDelayMs ?? 1000;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        if (await job.attempt()) return;
        this.#options.log.info(
          { requestId: job.requestId, function: job.functionKey, attempt: attempt + 1 },
          'asynchronous invocation failed',
        );
      } catch (err) {
        this.#options.log.info(
          {
            requestId: job.requestId,
            function: job.functionKey,
            attempt: attempt + 1,
            err: errorMessage(err),
          },
          'asynchronous invocation failed',
        );
      }
      if (attempt < retries && !this.#stopped) {
        await sleep(delay);
        delay *= 2;
      }
    }
    this.#options.log.warn(
      { requestId: job.requestId, function: job.functionKey, attempts: retries + 1 },
      'asynchronous invocation dropped after its retries',
    );
  }
}
