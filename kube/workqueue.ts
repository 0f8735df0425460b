// A work queue in the shape of client-go's: a key is queued at most once while
// it waits (de-duplication), is never handed to two workers at once (a key
// re-added while being processed waits until done()), and failures are retried
// with per-key exponential back-off until forget(). A named queue is
// measured as client-go's are: depth, adds, retries, how long a key waited
// and how long its work took (roost_workqueue_*{name}).
import { counter, gauge, histogram } from '../lib/metrics.ts';

const depth = gauge({
  name: 'roost_workqueue_depth',
  help: 'Keys waiting in the work queue now.',
  labelNames: ['name'],
});
const adds = counter({
  name: 'roost_workqueue_adds_total',
  help: 'Keys added to the work queue (a key already waiting is not counted again).',
  labelNames: ['name'],
});
const retries = counter({
  name: 'roost_workqueue_retries_total',
  help: 'Keys put back after a failure, to be retried after their back-off.',
  labelNames: ['name'],
});
const queueDuration = histogram({
  name: 'roost_workqueue_queue_duration_seconds',
  help: 'How long a key waited in the queue before a worker took it.',
  labelNames: ['name'],
});
const workDuration = histogram({
  name: 'roost_workqueue_work_duration_seconds',
  help: 'How long a worker took with a key, from taking it to done().',
  labelNames: ['name'],
});

/** The series of one named queue. */
function measure(name: string) {
  return {
    depth: depth.labels(name),
    adds: adds.labels(name),
    retries: retries.labels(name),
    queueDuration: queueDuration.labels(name),
    workDuration: workDuration.labels(name),
  };
}

export interface WorkQueueOptions {
  /** Names the queue's metrics (the controller, such as "deployment"); unnamed queues are not measured. */
  name?: string;
  /** First retry delay after a failure (default 10 ms). */
  baseDelayMs?: number;
  /** Longest retry delay (default 60 s). */
  maxDelayMs?: number;
}

export class WorkQueue<K = string> {
  readonly #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #failures = new Map<K, number>();
  /** Keys waiting to be added, with when they are due (performance.now()). */
  readonly #timers = new Map<K, { timer: NodeJS.Timeout; due: number }>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly name: string | undefined;
  readonly #metrics: ReturnType<typeof measure> | undefined;
  /** When each waiting key was added, and when each key in work was taken (for the durations). */
  readonly #addedAt = new Map<K, number>();
  readonly #takenAt = new Map<K, number>();
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 10;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.name = options.name;
    this.#metrics = options.name ? measure(options.name) : undefined;
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#metrics) {
      this.#metrics.adds.inc();
      if (!this.#addedAt.has(key)) this.#addedAt.set(key, performance.now());
    }
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#take(key);
      waiter(key);
    } else {
      this.#queue.push(key);
      this.#metrics?.depth.set(this.#queue.length);
    }
  }

  /** A worker takes the key now. */
  #take(key: K): void {
    this.#processing.add(key);
    if (!this.#metrics) return;
    const now = performance.now();
    const addedAt = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (addedAt !== undefined) this.#metrics.queueDuration.observe((now - addedAt) / 1000);
    this.#takenAt.set(key, now);
    this.#metrics.depth.set(this.#queue.length);
  }

  /** Adds the key after a delay; of two pending delays for one key, the sooner wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    // The earliest wins, as client-go's AddAfter: a later wait never delays a sooner one.
    const due = performance.now() + delayMs;
    const waiting = this.#timers.get(key);
    if (waiting && waiting.due <= due) return;
    if (waiting) clearTimeout(waiting.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { timer, due });
  }

  /** Adds the key after its back-off, which doubles with each failure. */
  addRateLimited(key: K): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.#metrics?.retries.inc();
    this.addAfter(key, Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** failures));
  }

  /** Clears the key's failure count, after it was processed successfully. */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once the queue shuts down. */
  get(): Promise<K | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#take(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.#processing.delete(key);
    const takenAt = this.#takenAt.get(key);
    if (takenAt !== undefined) {
      this.#takenAt.delete(key);
      this.#metrics?.workDuration.observe((performance.now() - takenAt) / 1000);
    }
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.#queue.length;
  }

  shutDown(): void {
    this.#shuttingDown = true;
    this.#metrics?.depth.set(0);
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
