// The durable queue of event invocations, on NATS JetStream. Producers (the
// gateway's Invoke API and HTTP handler, the cron controller, later queue
// triggers) publish an event and get the broker's acknowledgement that it is
// stored before they answer 202; consumers (every gateway, as competing
// consumers of one durable consumer) take events, run them, and ack each only
// after its function answered. A gateway that dies with events in flight
// never acked them: the broker gives them to another gateway after the ack
// wait. That is at-least-once delivery.
//
// Failed tries are not redelivered in place: the event is published again
// with its attempt count and a not-before time, then the original is acked,
// so that the count of tries is the function's failures and nothing else (a
// gateway's death does not use one up). Events that fail for good go to the
// dead-letter stream, from which they can be listed and replayed.
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgRequest,
} from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { errorMessage } from '../lib/errors.ts';
import { Withdrawable } from '../lib/withdrawable.ts';
import { EventQueueError } from './errors.ts';
import {
  eventHeaders,
  readDeadLetter,
  readEvent,
  type DeadLetter,
  type DeadLetterFailure,
  type QueuedEvent,
} from './event.ts';
import {
  ALL_DEAD_LETTERS,
  ALL_EVENTS,
  DEAD_LETTER_STREAM,
  EVENTS_STREAM,
  GATEWAY_CONSUMER,
  ALL_OUTCOMES,
  ALL_WITHDRAWALS,
  deadLetterSubject,
  eventSubject,
  outcomeSubject,
  withdrawalSubject,
  functionOfSubject,
  type FunctionRef,
} from './subjects.ts';

export interface EventQueueOptions {
  /** nats://host:port (a comma-separated list for a cluster). */
  url: string;
  /** Name shown in the server's connection list. */
  name: string;
  /** The token the broker requires (Roost gives it the invoke token), if it requires one. */
  token?: string;
  /** Keep trying until the broker answers, instead of failing at once (default false). */
  waitOnFirstConnect?: boolean;
}

/** An event handed to a consumer: the event, and what to do with it when done. */
export interface Delivery {
  event: QueuedEvent;
  /** Its sender may take it back until it starts: start() it right before the function gets it. */
  withdrawable: Withdrawable;
  /** Tells the broker the event is still being worked on (resets its ack wait). */
  working(): void;
  /** Done: the broker forgets it. */
  ack(): void;
  /** Not now: the broker offers it again after delayMs, to this or another consumer. */
  later(delayMs: number): void;
}

export interface ConsumeOptions {
  /** Events run at once by this consumer. */
  concurrency: number;
  /** How long a delivery may go without ack or working() before the broker offers it elsewhere. */
  ackWaitMs: number;
}

/** How an event ended, announced to whoever sent it (a trigger following its runs). */
export interface EventOutcome extends FunctionRef {
  requestId: string;
  source: string;
  /** Succeeded, or the reason it failed for good (RetriesExhausted, EventAgeExceeded, ...). */
  outcome: 'Succeeded' | string;
  message: string;
}

/** How long a withdrawal waits for a gateway holding the event to answer. */
const WITHDRAWAL_REPLY_MS = 500;
/** Dead letters are kept this long, as Lambda's dead-letter queues keep messages. */
const DEAD_LETTER_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
/** Pending events are kept at most this long: Lambda's largest maxEventAgeSeconds. */
const EVENT_MAX_AGE_MS = 6 * 3600 * 1000;
/** A publish retried within this window with the same id is stored once. */
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;
/** Most events waiting in all: beyond, publishing is refused (the caller gets 429). */
const MAX_PENDING_EVENTS = 1_000_000;

export class EventQueue {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  private constructor(nc: NatsConnection, jsm: JetStreamManager) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
  }

  /** Connects and makes sure both streams exist (every user may be the first). */
  static async connect(options: EventQueueOptions): Promise<EventQueue> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.url.split(','),
        name: options.name,
        // Credentials in the URL (an existing NATS of the cluster's own) win over the token.
        token: options.url.includes('@') ? undefined : options.token,
        // Keep trying for as long as the process lives: the broker restarting
        // (a StatefulSet pod moving) is an outage to wait out, not a crash.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        // A broker not up yet (both start together) is waited for, not an error.
        waitOnFirstConnect: options.waitOnFirstConnect ?? false,
      });
    } catch (err) {
      throw new EventQueueError(
        `Cannot connect to the event queue at ${options.url}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const queue = new EventQueue(nc, await jetstreamManager(nc));
    await queue.#ensureStreams();
    return queue;
  }

  async #ensureStreams(): Promise<void> {
    await this.#ensureStream({
      name: EVENTS_STREAM,
      subjects: [ALL_EVENTS],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: nanos(EVENT_MAX_AGE_MS),
      max_msgs: MAX_PENDING_EVENTS,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
    await this.#ensureStream({
      name: DEAD_LETTER_STREAM,
      subjects: [ALL_DEAD_LETTERS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(DEAD_LETTER_MAX_AGE_MS),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
  }

  async #ensureStream(config: Parameters<JetStreamManager['streams']['add']>[0]): Promise<void> {
    try {
      await this.#jsm.streams.info(config.name!);
    } catch {
      try {
        await this.#jsm.streams.add(config);
      } catch (err) {
        // Another process may have created it between our look and our add.
        try {
          await this.#jsm.streams.info(config.name!);
        } catch {
          throw new EventQueueError(
            `Cannot create the stream ${config.name}: ${errorMessage(err)}`,
            { cause: err },
          );
        }
      }
    }
  }

  /** Stores the event; resolves once the broker has it on disk. */
  async publish(event: QueuedEvent): Promise<void> {
    try {
      await this.#js.publish(eventSubject(event), event.payload, {
        headers: eventHeaders(event),
        // The same event published twice (a producer's retry) is stored once.
        msgID: `${event.requestId}#${event.attempts}#${event.source}`,
      });
    } catch (err) {
      throw new EventQueueError(`Cannot queue the event: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Stores a failed event in the dead-letter stream. */
  async publishDeadLetter(event: QueuedEvent, failure: DeadLetterFailure): Promise<void> {
    await this.#js.publish(deadLetterSubject(event), event.payload, {
      headers: eventHeaders(event, failure),
      msgID: `${event.requestId}#dead#${event.attempts}#${failure.failedAt}`,
    });
  }

  /**
   * Runs `handle` for each event, at most `concurrency` at once, until the
   * returned stop is called. The handler settles the delivery (ack or later);
   * one that throws leaves it for the broker to offer again after the ack wait.
   */
  async consume(
    handle: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
  ): Promise<{ stop(): Promise<void> }> {
    await this.#ensureConsumer(options.ackWaitMs);
    const consumer = await this.#js.consumers.get(EVENTS_STREAM, GATEWAY_CONSUMER);
    const messages = await consumer.consume({ max_messages: options.concurrency });
    // Events this consumer holds, by request id: a withdrawal is answered by their holder.
    const held = new Map<string, Withdrawable>();
    const withdrawals = this.#nc.subscribe(ALL_WITHDRAWALS, {
      callback: (err, msg) => {
        if (err) return;
        const withdrawable = held.get(msg.string());
        if (withdrawable) msg.respond(withdrawable.withdraw() ? 'withdrawn' : 'running');
      },
    });
    const running = new Set<Promise<void>>();
    let slots = options.concurrency;
    let wake: (() => void) | undefined;
    const loop = (async () => {
      for await (const msg of messages) {
        while (slots === 0) await new Promise<void>((resolve) => (wake = resolve));
        slots--;
        const work = this.#deliver(msg, handle, held).finally(() => {
          running.delete(work);
          slots++;
          wake?.();
          wake = undefined;
        });
        running.add(work);
      }
    })();
    return {
      async stop() {
        withdrawals.unsubscribe();
        await messages.close();
        await loop.catch(() => {});
        await Promise.allSettled([...running]);
      },
    };
  }

  async #deliver(
    msg: JsMsg,
    handle: (delivery: Delivery) => Promise<void>,
    held: Map<string, Withdrawable>,
  ): Promise<void> {
    const fn = functionOfSubject(msg.subject);
    if (!fn) {
      // Not an event of ours: nothing can run it.
      msg.term('not a Roost event subject');
      return;
    }
    const event = readEvent(fn, msg.headers, msg.data);
    const withdrawable = new Withdrawable();
    held.set(event.requestId, withdrawable);
    try {
      await handle({
        event,
        withdrawable,
        working: () => msg.working(),
        ack: () => msg.ack(),
        later: (delayMs) => msg.nak(Math.max(0, Math.round(delayMs))),
      });
    } catch {
      // Left unacked: the broker offers it again after the ack wait.
    } finally {
      if (held.get(event.requestId) === withdrawable) held.delete(event.requestId);
    }
  }

  async #ensureConsumer(ackWaitMs: number): Promise<void> {
    const config = {
      durable_name: GATEWAY_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      // Tries are counted by Roost (see the header); the broker redelivers as long as needed.
      max_deliver: -1,
      max_ack_pending: 10_000,
    };
    try {
      await this.#jsm.consumers.info(EVENTS_STREAM, GATEWAY_CONSUMER);
      await this.#jsm.consumers.update(EVENTS_STREAM, GATEWAY_CONSUMER, {
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
      });
    } catch {
      try {
        await this.#jsm.consumers.add(EVENTS_STREAM, config);
      } catch (err) {
        await this.#jsm.consumers.info(EVENTS_STREAM, GATEWAY_CONSUMER).catch(() => {
          throw new EventQueueError(
            `Cannot create the consumer ${GATEWAY_CONSUMER}: ${errorMessage(err)}`,
            { cause: err },
          );
        });
      }
    }
  }

  /** Events waiting per function ("namespace/name" → count), including those in flight. */
  async depths(): Promise<Map<string, number>> {
    const info = await this.#jsm.streams.info(EVENTS_STREAM, { subjects_filter: ALL_EVENTS });
    const depths = new Map<string, number>();
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const fn = functionOfSubject(subject);
      if (fn) depths.set(`${fn.namespace}/${fn.name}`, count);
    }
    return depths;
  }

  /** When the oldest waiting event of a function was accepted (Unix ms), if any waits. */
  async oldestAcceptedAt(fn: FunctionRef): Promise<number | undefined> {
    const stored = await this.#jsm.streams
      .getMessage(EVENTS_STREAM, { seq: 0, next_by_subj: eventSubject(fn) } as MsgRequest)
      .catch(() => null);
    if (!stored) return undefined;
    return readEvent(fn, stored.header, stored.data).acceptedAt;
  }

  /** The dead letters of one function, oldest first. */
  async deadLetters(fn: FunctionRef): Promise<DeadLetter[]> {
    const subject = deadLetterSubject(fn);
    const info = await this.#jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    const letters: DeadLetter[] = [];
    let seq = 0;
    while (letters.length < count) {
      const stored = await this.#jsm.streams
        .getMessage(DEAD_LETTER_STREAM, { seq: seq + 1, next_by_subj: subject } as MsgRequest)
        .catch(() => null);
      if (!stored) break;
      seq = stored.seq;
      letters.push(readDeadLetter(fn, stored.seq, stored.header, stored.data));
    }
    return letters;
  }

  /**
   * Sends dead letters of a function back to its queue (all of them, or
   * those whose sequence or request id is in `only`), as fresh tries with
   * their request id kept, and removes them from the dead-letter stream.
   * Resolves with the replayed letters.
   */
  async replay(fn: FunctionRef, only?: Set<string>): Promise<DeadLetter[]> {
    const letters = (await this.deadLetters(fn)).filter(
      (l) => !only || only.has(String(l.sequence)) || only.has(l.requestId),
    );
    for (const letter of letters) {
      await this.publish({
        namespace: letter.namespace,
        name: letter.name,
        requestId: letter.requestId,
        payload: letter.payload,
        source: `replay/${letter.sequence}`,
        // Replayed events are counted from now, or they would be too old to run.
        acceptedAt: Date.now(),
        attempts: 0,
        notBefore: 0,
        metadata: letter.metadata,
      });
      await this.#jsm.streams.deleteMessage(DEAD_LETTER_STREAM, letter.sequence);
    }
    return letters;
  }

  /**
   * Announces how an event ended. Not stored: a follower that is away misses
   * it and must expire what it waits for on its own.
   */
  announceOutcome(outcome: EventOutcome): void {
    const h = natsHeaders();
    h.set('Roost-Request-Id', outcome.requestId);
    h.set('Roost-Source', outcome.source);
    h.set('Roost-Outcome', outcome.outcome);
    h.set('Roost-Failure-Message', outcome.message.replace(/[\r\n]+/g, ' ').slice(0, 1024));
    this.#nc.publish(outcomeSubject(outcome), undefined, { headers: h });
  }

  /** Calls `onOutcome` for every outcome announced from now on, until the returned stop. */
  followOutcomes(onOutcome: (outcome: EventOutcome) => void): () => void {
    const subscription = this.#nc.subscribe(ALL_OUTCOMES, {
      callback: (err, msg) => {
        if (err) return;
        const fn = functionOfSubject(msg.subject);
        if (!fn) return;
        onOutcome({
          ...fn,
          requestId: msg.headers?.get('Roost-Request-Id') ?? '',
          source: msg.headers?.get('Roost-Source') ?? '',
          outcome: msg.headers?.get('Roost-Outcome') ?? '',
          message: msg.headers?.get('Roost-Failure-Message') ?? '',
        });
      },
    });
    return () => subscription.unsubscribe();
  }

  /**
   * Takes back a function's event by request id before it starts: every try
   * of it still stored is removed, and a gateway holding it (waiting for a
   * Sandbox) drops it. "running" if a gateway had started it (it finishes),
   * "absent" if it was nowhere (it had finished, or never was).
   */
  async withdraw(fn: FunctionRef, requestId: string): Promise<'withdrawn' | 'running' | 'absent'> {
    const subject = eventSubject(fn);
    let seq = 0;
    let stored = false;
    for (;;) {
      const message = await this.#jsm.streams
        .getMessage(EVENTS_STREAM, { seq: seq + 1, next_by_subj: subject } as MsgRequest)
        .catch(() => null);
      if (!message) break;
      seq = message.seq;
      if (message.header?.get('Roost-Request-Id') === requestId) {
        await this.#jsm.streams.deleteMessage(EVENTS_STREAM, message.seq).catch(() => false);
        stored = true;
      }
    }
    // A delivered event stays stored until acked: the scan above removed it
    // from the stream, but only its holder can stop it from starting.
    const holder = await this.#nc
      .request(withdrawalSubject(fn), requestId, { timeout: WITHDRAWAL_REPLY_MS })
      .then((reply) => reply.string())
      .catch(() => undefined);
    if (holder === 'running') return 'running';
    return stored || holder === 'withdrawn' ? 'withdrawn' : 'absent';
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
