// Runs event invocations from the durable queue. Every gateway runs one; they
// are competing consumers of the same queue, so events spread over gateways
// and a gateway's death only delays the events it held (the broker offers
// them again after the ack wait).
//
// One delivery, in the order it is decided:
//   withdrawn by its sender             → ack (a Replace cron run)
//   not due yet (a back-off)            → offered again when due
//   the function is gone                → dead letter (FunctionNotFound)
//   its alias, tag or revision is gone  → dead letter (QualifierNotFound)
//   older than maxEventAgeSeconds       → dead letter (EventAgeExceeded)
//   run it on a revision its route draws: success → ack
//   the function failed, tries left     → queued again with attempts+1 and a back-off; ack
//   the function failed, no tries left  → dead letter (RetriesExhausted) and onFailure; ack
//   Roost could not run it (no ready instance, a Sandbox refused)
//                                       → offered again after a back-off, not counted as a try
// An event is acked only after its function answered or it was put aside for
// good: at least once.
import type { Delivery, EventQueue } from '../events/queue.ts';
import type { QueuedEvent } from '../events/event.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { InvokeResponse } from '../proto/sandbox-host.ts';
import { GatewayError } from './errors.ts';
import type { FunctionEntry, FunctionTable } from './function-table.ts';
import { invokeCounted } from './function-call.ts';
import type { Invoker } from './invoker.ts';
import type { GatewayMetrics } from './metrics.ts';
import { chooseRevision, resolveTarget, type TrafficTarget } from './traffic.ts';

export interface EventRunnerOptions {
  queue: EventQueue;
  table: FunctionTable;
  invoker: Invoker;
  metrics: GatewayMetrics;
  log: Logger;
  /** Events this gateway runs at once (default 64). */
  concurrency?: number;
  /** How long the broker waits for word on a delivery before offering it elsewhere (default 30 s). */
  ackWaitMs?: number;
}

/** Roost's own failures to run an event are tried again after this, doubling to the cap. */
const SYSTEM_RETRY_MS = 1000;
const SYSTEM_RETRY_CAP_MS = 30_000;

type Outcome = 'succeeded' | 'retried' | 'dead-lettered' | 'deferred' | 'withdrawn';

export class EventRunner {
  readonly #options: EventRunnerOptions;
  readonly #ackWaitMs: number;
  #consumer: { stop(): Promise<void> } | undefined;
  /** Consecutive system failures per function, for the back-off. */
  readonly #systemFailures = new Map<string, number>();

  constructor(options: EventRunnerOptions) {
    this.#options = options;
    this.#ackWaitMs = options.ackWaitMs ?? 30_000;
  }

  async start(): Promise<void> {
    this.#consumer = await this.#options.queue.consume((d) => this.#run(d), {
      concurrency: this.#options.concurrency ?? 64,
      ackWaitMs: this.#ackWaitMs,
    });
  }

  /** Stops taking events; those running finish (and are acked) first. */
  async stop(): Promise<void> {
    await this.#consumer?.stop();
  }

  async #run(delivery: Delivery): Promise<void> {
    const { event } = delivery;
    const outcome = await this.#decide(delivery);
    this.#options.metrics.events.labels(event.namespace, event.name, outcome).inc();
  }

  async #decide(delivery: Delivery): Promise<Outcome> {
    const { event } = delivery;
    if (delivery.withdrawable.withdrawn) {
      delivery.ack();
      return 'withdrawn';
    }
    const due = event.notBefore - Date.now();
    if (due > 0) {
      delivery.later(due);
      return 'deferred';
    }
    const fn = this.#options.table.get(event.namespace, event.name);
    if (!fn) {
      await this.#deadLetter(delivery, undefined, {
        reason: 'FunctionNotFound',
        message: `No function ${event.namespace}/${event.name}`,
      });
      return 'dead-lettered';
    }
    let target: TrafficTarget;
    try {
      target = resolveTarget(this.#options.table, event.namespace, event.name, event.qualifier);
    } catch (err) {
      // An alias not resolved yet (503) is Roost's to wait for; one that is gone is final.
      if (!(err instanceof GatewayError) || err.status !== 404) {
        delivery.later(SYSTEM_RETRY_MS);
        return 'deferred';
      }
      await this.#deadLetter(delivery, fn, { reason: 'QualifierNotFound', message: err.message });
      return 'dead-lettered';
    }
    if (Date.now() - event.acceptedAt > fn.settings.async.maxEventAgeMs) {
      await this.#deadLetter(delivery, fn, {
        reason: 'EventAgeExceeded',
        message: `The event is older than maxEventAgeSeconds (${fn.settings.async.maxEventAgeMs / 1000})`,
      });
      return 'dead-lettered';
    }

    const response = await this.#invoke(delivery, fn, target);
    if (response === 'withdrawn') {
      delivery.ack();
      return 'withdrawn';
    }
    if (response === undefined) return 'deferred';
    if (response.error === 'FUNCTION_ERROR_NONE') {
      this.#systemFailures.delete(fn.key);
      delivery.ack();
      this.#announce(event, 'Succeeded', '');
      return 'succeeded';
    }
    const failure = {
      reason: 'RetriesExhausted',
      message: `${response.errorType || response.error}: ${response.errorMessage}`,
    };
    if (event.attempts < fn.settings.async.maxRetries) {
      const backoff = fn.settings.async.retryDelayMs * 2 ** event.attempts;
      await this.#options.queue.publish({
        ...event,
        attempts: event.attempts + 1,
        notBefore: Date.now() + backoff,
      });
      delivery.ack();
      this.#options.log.info(
        { requestId: event.requestId, function: fn.key, attempt: event.attempts + 1, backoff },
        `event invocation failed (${failure.message}); trying again`,
      );
      return 'retried';
    }
    await this.#deadLetter(delivery, fn, failure, response);
    return 'dead-lettered';
  }

  /**
   * Runs the event, telling the broker it is still being worked on while the
   * function runs (it may run for up to 15 minutes; the ack wait is shorter,
   * so that a dead gateway's events move on soon). Undefined when Roost could
   * not run it, after asking for it again later.
   */
  async #invoke(
    delivery: Delivery,
    fn: FunctionEntry,
    target: TrafficTarget,
  ): Promise<InvokeResponse | 'withdrawn' | undefined> {
    const { event } = delivery;
    const heartbeat = setInterval(() => delivery.working(), Math.max(100, this.#ackWaitMs / 3));
    try {
      return await invokeCounted(
        this.#options,
        fn,
        {
          requestId: event.requestId,
          payload: Buffer.from(event.payload),
          metadata: { ...event.metadata, invocationType: 'Event' },
          timeoutMs: fn.settings.timeoutMs,
          withdrawable: delivery.withdrawable,
        },
        chooseRevision(target),
      );
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'ROOST_EVENT_WITHDRAWN') return 'withdrawn';
      // A timeout or a Sandbox that failed mid-request is the function's try.
      if (
        err instanceof GatewayError &&
        (err.code === 'ROOST_FUNCTION_TIMEOUT' || err.code === 'ROOST_UPSTREAM_FAILED')
      )
        return {
          result: Buffer.alloc(0),
          logTail: '',
          error: 'FUNCTION_ERROR_TIMEOUT',
          errorType: err.code,
          errorMessage: err.message,
          stackTrace: [],
          durationMs: 0,
          memoryBytes: 0,
          coldStart: false,
          cpuMicros: 0,
          streamId: 0,
          rejection: null,
        };
      const failures = (this.#systemFailures.get(fn.key) ?? 0) + 1;
      this.#systemFailures.set(fn.key, failures);
      const delay = Math.min(SYSTEM_RETRY_CAP_MS, SYSTEM_RETRY_MS * 2 ** (failures - 1));
      this.#options.log.warn(
        { requestId: event.requestId, function: fn.key, err: errorMessage(err), delay },
        'cannot run an event invocation now; it stays queued',
      );
      delivery.later(delay);
      return undefined;
    } finally {
      clearInterval(heartbeat);
    }
  }

  #announce(event: QueuedEvent, outcome: string, message: string): void {
    try {
      this.#options.queue.announceOutcome({
        namespace: event.namespace,
        name: event.name,
        requestId: event.requestId,
        source: event.source,
        outcome,
        message,
      });
    } catch (err) {
      this.#options.log.debug({ err: errorMessage(err) }, 'cannot announce an event outcome');
    }
  }

  async #deadLetter(
    delivery: Delivery,
    fn: FunctionEntry | undefined,
    failure: { reason: string; message: string },
    response?: InvokeResponse,
  ): Promise<void> {
    const { event } = delivery;
    const failedAt = Date.now();
    await this.#options.queue.publishDeadLetter(event, { ...failure, failedAt });
    const destination = fn?.settings.async.onFailure;
    if (destination)
      await this.#options.queue.publish({
        namespace: event.namespace,
        name: destination,
        requestId: `${event.requestId}-onfailure`,
        payload: Buffer.from(JSON.stringify(destinationRecord(event, failure, failedAt, response))),
        source: `onFailure/${event.name}`,
        acceptedAt: failedAt,
        attempts: 0,
        notBefore: 0,
        metadata: {},
      });
    delivery.ack();
    this.#announce(event, failure.reason, failure.message);
    this.#options.log.warn(
      { requestId: event.requestId, function: `${event.namespace}/${event.name}`, ...failure },
      'event invocation failed for good: sent to the dead letters',
    );
  }
}

/** What an onFailure destination receives: Lambda's invocation record for destinations. */
function destinationRecord(
  event: QueuedEvent,
  failure: { reason: string; message: string },
  failedAt: number,
  response: InvokeResponse | undefined,
): unknown {
  let requestPayload: unknown;
  try {
    requestPayload = JSON.parse(Buffer.from(event.payload).toString('utf8'));
  } catch {
    requestPayload = Buffer.from(event.payload).toString('utf8');
  }
  return {
    version: '1.0',
    timestamp: new Date(failedAt).toISOString(),
    requestContext: {
      requestId: event.requestId,
      functionArn: `arn:aws:lambda:roost:${event.namespace}:function:${event.name}`,
      condition: failure.reason,
      approximateInvokeCount: event.attempts + (response ? 1 : 0),
    },
    requestPayload,
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: response ? 'Unhandled' : undefined,
    },
    responsePayload: response
      ? {
          errorType: response.errorType,
          errorMessage: response.errorMessage,
          trace: response.stackTrace,
        }
      : { errorType: failure.reason, errorMessage: failure.message },
  };
}
