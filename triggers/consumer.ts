// One QueueTrigger's consumer in one roost triggers replica, the same for
// every broker. In the order it runs:
//   1. connect (read the Secret, open the source); a failure is reported
//      (BrokerUnreachable, QueueNotFound, ...) and retried with back-off;
//   2. take deliveries into batches of batchSize, sent when full or when
//      maxBatchingWindowSeconds has passed, at most maxConcurrency at once
//      (the broker's prefetch, batchSize × maxConcurrency, bounds the rest);
//   3. invoke the function with the batch (invoker.ts) and settle each
//      message by its answer: ack the ones it handled; retry the failed ones
//      after their back-off, or dead-letter them once maxRetries is used up.
//      A batch the function never saw (the gateway down, throttled, the
//      function gone) is not its failure: it is sent again after a back-off,
//      its messages still unsettled;
//   4. a lost connection drops the unsettled messages (the broker redelivers
//      them) and goes back to 1.
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueTrigger } from '../kube/api/roost.ts';
import { QUEUE_DEFAULTS } from '../kube/api/defaults.ts';
import { Backoff } from '../lib/backoff.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { TriggerError, type NotReadyReason } from './errors.ts';
import type { InvokeResult } from './invoker.ts';
import { triggerMessages } from './metrics.ts';
import type { QueueSource, SourceMessage } from './source.ts';

/** What a replica's consumer last saw, for the Ready condition. */
export type ConsumerState =
  { ready: true } | { ready: false; reason: NotReadyReason; message: string };

/** Counts since the status last took them (status.ts adds them to the trigger's). */
export interface Counts {
  delivered: number;
  failed: number;
  deadLettered: number;
}

export interface TriggerConsumerOptions {
  trigger: QueueTrigger;
  /** Reads the credentials and connects; throws a TriggerError when it cannot. */
  open(): Promise<QueueSource>;
  /** Sends one batch's event to the trigger's function. */
  invoke(event: unknown): Promise<InvokeResult>;
  log: Logger;
  /** The broker's ack deadline (NATS), kept alive while a message waits or runs. */
  ackWaitMs?: number;
  /** Longest wait between connection attempts (default 30 s). */
  maxBackoffMs?: number;
}

export class TriggerConsumer {
  readonly #options: TriggerConsumerOptions;
  readonly #spec: Required<
    Pick<
      QueueTrigger['spec'],
      | 'batchSize'
      | 'maxBatchingWindowSeconds'
      | 'maxConcurrency'
      | 'maxRetries'
      | 'retryDelaySeconds'
    >
  >;
  readonly #stop = new AbortController();
  #source: QueueSource | undefined;
  /** Undefined until the first connection attempt ends. */
  #state: ConsumerState | undefined;
  #lastError: { time: Date; message: string } | undefined;
  readonly #counts: Counts = { delivered: 0, failed: 0, deadLettered: 0 };
  #pending: SourceMessage[] = [];
  #windowTimer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  readonly #running = new Set<Promise<void>>();
  #done: Promise<void> | undefined;

  constructor(options: TriggerConsumerOptions) {
    this.#options = options;
    const spec = options.trigger.spec;
    this.#spec = {
      batchSize: spec.batchSize ?? QUEUE_DEFAULTS.batchSize,
      maxBatchingWindowSeconds:
        spec.maxBatchingWindowSeconds ?? QUEUE_DEFAULTS.maxBatchingWindowSeconds,
      maxConcurrency: spec.maxConcurrency ?? QUEUE_DEFAULTS.maxConcurrency,
      maxRetries: spec.maxRetries ?? QUEUE_DEFAULTS.maxRetries,
      retryDelaySeconds: spec.retryDelaySeconds ?? QUEUE_DEFAULTS.retryDelaySeconds,
    };
  }

  /** The metadata.generation of the trigger this consumer runs. */
  get generation(): number | undefined {
    return this.#options.trigger.metadata.generation;
  }

  get state(): ConsumerState | undefined {
    return this.#state;
  }

  get lastError(): { time: Date; message: string } | undefined {
    return this.#lastError;
  }

  /** The connected source, for the leader's lag reads. */
  get source(): QueueSource | undefined {
    return this.#state?.ready ? this.#source : undefined;
  }

  /** The counts since the last call, reset. */
  takeCounts(): Counts {
    const taken = { ...this.#counts };
    this.#counts.delivered = this.#counts.failed = this.#counts.deadLettered = 0;
    return taken;
  }

  /** Gives counts that could not be recorded back, to be recorded with the next ones. */
  returnCounts(counts: Counts): void {
    this.#counts.delivered += counts.delivered;
    this.#counts.failed += counts.failed;
    this.#counts.deadLettered += counts.deadLettered;
  }

  start(): void {
    this.#done ??= this.#run();
  }

  /** Stops consuming; waits for the batches in flight to be settled. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: this.#options.maxBackoffMs ?? 30_000 });
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let lostReason: Error | undefined;
      try {
        const source = await this.#options.open();
        this.#source = source;
        let onLost!: (err: Error) => void;
        const lost = new Promise<Error>((resolve) => (onLost = resolve));
        await source.consume((message) => this.#take(message), onLost, {
          prefetch: this.#spec.batchSize * this.#spec.maxConcurrency,
          ackWaitMs: this.#options.ackWaitMs ?? 10_000,
        });
        this.#state = { ready: true };
        backoff.reset();
        this.#options.log.info({ queue: this.#source.queueName }, 'consuming');
        lostReason = await Promise.race([
          lost,
          new Promise<undefined>((resolve) =>
            signal.addEventListener('abort', () => resolve(undefined), { once: true }),
          ),
        ]);
      } catch (err) {
        lostReason = err instanceof Error ? err : new Error(String(err));
      }
      // Whatever waits in a batch is the broker's again once the connection closes.
      this.#pending = [];
      clearTimeout(this.#windowTimer);
      if (signal.aborted) await Promise.allSettled([...this.#running]);
      await this.#source?.close();
      this.#source = undefined;
      if (signal.aborted) break;
      this.#report(lostReason!);
      await sleep(backoff.next(), undefined, { signal }).catch(() => {});
    }
    await Promise.allSettled([...this.#running]);
  }

  #report(err: Error): void {
    const message = errorMessage(err);
    const reason = err instanceof TriggerError ? err.reason : 'BrokerUnreachable';
    this.#state = { ready: false, reason, message };
    this.#lastError = { time: new Date(), message };
    this.#options.log.warn({ reason, err: message }, 'not consuming; retrying');
  }

  #take(message: SourceMessage): void {
    this.#pending.push(message);
    this.#dispatch();
  }

  /** Sends whole batches while slots are free; a partial one when its window closes. */
  #dispatch(): void {
    const { batchSize, maxConcurrency, maxBatchingWindowSeconds } = this.#spec;
    while (this.#pending.length >= batchSize && this.#inFlight < maxConcurrency)
      this.#send(this.#pending.splice(0, batchSize));
    if (this.#pending.length === 0 || this.#windowTimer) return;
    // Deliveries that came in one read are sent together even without a window.
    const waitMs = maxBatchingWindowSeconds > 0 ? maxBatchingWindowSeconds * 1000 : 0;
    this.#windowTimer = setTimeout(() => {
      this.#windowTimer = undefined;
      if (this.#inFlight < maxConcurrency && this.#pending.length > 0)
        this.#send(this.#pending.splice(0, batchSize));
      this.#dispatch();
    }, waitMs);
  }

  #send(batch: SourceMessage[]): void {
    this.#inFlight++;
    const source = this.#source!;
    const work = this.#handle(source, batch).finally(() => {
      this.#inFlight--;
      this.#running.delete(work);
      if (this.#source === source) this.#dispatch();
    });
    this.#running.add(work);
  }

  async #handle(source: QueueSource, batch: SourceMessage[]): Promise<void> {
    const event = source.makeEvent(batch);
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    let result: InvokeResult;
    for (;;) {
      try {
        result = await this.#options.invoke(event);
        break;
      } catch (err) {
        // The function never answered for these: not a try. Keep them and ask again.
        this.#lastError = { time: new Date(), message: errorMessage(err) };
        this.#options.log.warn(
          { err: errorMessage(err) },
          'cannot invoke; will send the batch again',
        );
        if (this.#stop.signal.aborted || this.#source !== source) return;
        await sleep(backoff.next());
        if (this.#stop.signal.aborted || this.#source !== source) return;
      }
    }
    const failed = failedMessages(batch, result);
    try {
      await Promise.all(
        batch.map((message) =>
          failed.has(message)
            ? this.#fail(source, message, result.error ?? 'listed in batchItemFailures')
            : this.#succeed(source, message),
        ),
      );
    } catch (err) {
      // The connection went while settling: the broker redelivers what was not settled.
      this.#options.log.debug({ err: errorMessage(err) }, 'settling a batch failed');
    }
  }

  async #succeed(source: QueueSource, message: SourceMessage): Promise<void> {
    await source.ack(message);
    this.#counts.delivered++;
    this.#metric('delivered');
  }

  async #fail(source: QueueSource, message: SourceMessage, error: string): Promise<void> {
    const tries = message.failedTries + 1;
    if (tries > this.#spec.maxRetries) {
      await source.deadLetter(message, { tries, error });
      this.#counts.failed++;
      this.#counts.deadLettered++;
      this.#metric('failed');
      this.#metric('dead_lettered');
      return;
    }
    await source.retry(message, this.#spec.retryDelaySeconds * 1000 * 2 ** message.failedTries);
    this.#counts.failed++;
    this.#metric('failed');
  }

  #metric(outcome: 'delivered' | 'failed' | 'dead_lettered'): void {
    const t = this.#options.trigger.metadata;
    triggerMessages.inc({ namespace: t.namespace, trigger: t.name, outcome });
  }
}

/**
 * The messages the function failed: all of them when it failed as a whole
 * (or named an id not in the batch, as Lambda then does), those listed in
 * batchItemFailures otherwise.
 */
function failedMessages(batch: SourceMessage[], result: InvokeResult): Set<SourceMessage> {
  if (result.error !== undefined) return new Set(batch);
  const ids = result.batchItemFailures;
  if (!ids || ids.length === 0) return new Set();
  const byId = new Map(batch.map((m) => [m.id, m]));
  const failed = new Set<SourceMessage>();
  for (const id of ids) {
    const message = byId.get(id);
    if (!message) return new Set(batch);
    failed.add(message);
  }
  return failed;
}
