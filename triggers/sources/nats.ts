// A NATS JetStream stream as a trigger's source: one durable pull consumer
// (spec.source.nats.durable) that every roost triggers replica pulls from,
// so the replicas compete for its messages. Roost creates the consumer; the
// stream must exist.
//
// Retries are the broker's own: a failed message is nak'ed with its back-off
// delay, and its delivery count is its number of tries. A consumer that dies
// mid-batch stops sending working() for its messages; the broker offers them
// again after the ack wait, and that delivery counts as a try (as SQS counts
// receives for its redrive policy). Dead letters are published to
// spec.deadLetter.subject and then acknowledged.
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { errorMessage } from '../../lib/errors.ts';
import {
  BrokerUnreachableError,
  ForbiddenStreamError,
  QueueNotFoundError,
  redact,
} from '../errors.ts';
import type { ConsumeOptions, DeadLetterReason, QueueSource, SourceMessage } from '../source.ts';

/** Roost's own streams (the event queue, its dead letters): never a trigger's. */
export const RESERVED_STREAM_PREFIX = 'ROOST_';

export interface NatsSourceOptions {
  url: string;
  /** For Roost's own server: the invoke token. */
  token?: string;
  /** Whether url is Roost's own server (its ROOST_ streams are refused). */
  ownServer: boolean;
  stream: string;
  subject?: string;
  durable: string;
  deadLetterSubject?: string;
  trigger: { namespace: string; name: string };
  /** Records the durable consumer in the trigger's status before Roost creates it (so that it is removed with the trigger). */
  recordCreated(created: { consumer: string }): Promise<void>;
}

/** One record of the event (Records), documented in the README. */
export interface NatsRecord {
  eventSource: 'roost:nats';
  eventSourceArn: string;
  /** The stream sequence: what batchItemFailures names. */
  messageId: string;
  stream: string;
  subject: string;
  sequence: number;
  timestamp: string;
  redelivered: boolean;
  deliveryCount: number;
  headers: Record<string, string[]>;
  /** The payload, base64. */
  data: string;
}

interface Delivery extends SourceMessage {
  raw: JsMsg;
}

export class NatsSource implements QueueSource {
  readonly kind = 'nats';
  readonly queueName: string;
  readonly #options: NatsSourceOptions;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #unsettled = new Set<JsMsg>();
  #messages: ConsumerMessages | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing = false;

  private constructor(options: NatsSourceOptions, nc: NatsConnection, jsm: JetStreamManager) {
    this.#options = options;
    this.queueName = `${options.stream}/${options.subject ?? '>'}`;
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
  }

  static async connect(options: NatsSourceOptions): Promise<NatsSource> {
    if (options.ownServer && options.stream.startsWith(RESERVED_STREAM_PREFIX))
      throw new ForbiddenStreamError(
        `The stream ${options.stream} is Roost's own: a trigger reads a stream of its own, or a server named in serverSecretRef`,
      );
    const nc = await connectServer(options);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.info(options.stream).catch((err: unknown) => {
        throw /not found/i.test(errorMessage(err))
          ? new QueueNotFoundError(
              `The stream ${options.stream} does not exist on the NATS server (Roost does not create it)`,
            )
          : err;
      });
      return new NatsSource(options, nc, jsm);
    } catch (err) {
      await nc.close().catch(() => {});
      if (err instanceof QueueNotFoundError) throw err;
      throw new BrokerUnreachableError(
        `NATS JetStream failed: ${redact(errorMessage(err), [options.url, options.token ?? ''])}`,
      );
    }
  }

  async consume(
    onMessage: (message: SourceMessage) => void,
    onLost: (err: Error) => void,
    options: ConsumeOptions,
  ): Promise<void> {
    await this.#ensureConsumer(options);
    let lost = false;
    const lose = (err: Error) => {
      if (lost || this.#closing) return;
      lost = true;
      onLost(err);
    };
    void this.#nc
      .closed()
      .then(() => lose(new BrokerUnreachableError('The connection to the NATS server was lost')));
    const consumer = await this.#js.consumers.get(this.#options.stream, this.#options.durable);
    const messages = await consumer.consume({ max_messages: options.prefetch });
    this.#messages = messages;
    // Messages waiting in a batch or in an invocation are still being worked on.
    this.#heartbeat = setInterval(
      () => {
        for (const msg of this.#unsettled) msg.working();
      },
      Math.max(500, options.ackWaitMs / 3),
    );
    void (async () => {
      try {
        for await (const msg of messages) {
          this.#unsettled.add(msg);
          onMessage(this.#toMessage(msg));
        }
      } catch (err) {
        lose(
          /not found/i.test(errorMessage(err))
            ? new QueueNotFoundError(
                `The stream ${this.#options.stream} or its consumer was deleted`,
              )
            : new BrokerUnreachableError(`NATS consumer failed: ${errorMessage(err)}`),
        );
        return;
      }
      lose(new BrokerUnreachableError('The NATS consumer stopped'));
    })();
  }

  async #ensureConsumer(options: ConsumeOptions): Promise<void> {
    const { stream, durable, subject } = this.#options;
    const wanted = {
      ack_wait: nanos(options.ackWaitMs),
      // Enough for every replica's prefetch.
      max_ack_pending: Math.max(1000, options.prefetch * 8),
      filter_subject: subject,
    };
    // Only a consumer that is not there is Roost's to create (and to remove
    // later); any other failure to look must not make a user's consumer ours.
    const exists = await this.#jsm.consumers.info(stream, durable).then(
      () => true,
      (err: unknown) => {
        if (/not found/i.test(errorMessage(err))) return false;
        throw new BrokerUnreachableError(
          `Cannot look up the consumer ${durable} on ${stream}: ${errorMessage(err)}`,
        );
      },
    );
    if (exists)
      // A user's consumer that refuses these settings is still read as it is.
      await this.#jsm.consumers.update(stream, durable, wanted).catch(() => {});
    else {
      await this.#options.recordCreated({ consumer: durable });
      try {
        await this.#jsm.consumers.add(stream, {
          ...wanted,
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          // Roost counts tries itself and dead-letters; the broker redelivers as long as needed.
          max_deliver: -1,
        });
      } catch (err) {
        // Another replica may have created it between our look and our add.
        await this.#jsm.consumers.info(stream, durable).catch(() => {
          throw new BrokerUnreachableError(
            `Cannot create the consumer ${durable} on ${stream}: ${errorMessage(err)}`,
          );
        });
      }
    }
  }

  #toMessage(msg: JsMsg): Delivery {
    const headers: Record<string, string[]> = {};
    if (msg.headers) for (const [key, values] of msg.headers) headers[key] = values;
    const { namespace, name } = this.#options.trigger;
    const record: NatsRecord = {
      eventSource: 'roost:nats',
      eventSourceArn: `roost:${namespace}:queuetrigger/${name}`,
      messageId: String(msg.seq),
      stream: this.#options.stream,
      subject: msg.subject,
      sequence: msg.seq,
      timestamp: new Date(Math.floor(Number(msg.info.timestampNanos) / 1e6)).toISOString(),
      redelivered: msg.redelivered,
      deliveryCount: msg.info.deliveryCount,
      headers,
      data: Buffer.from(msg.data).toString('base64'),
    };
    return { id: String(msg.seq), failedTries: msg.info.deliveryCount - 1, record, raw: msg };
  }

  async ack(message: SourceMessage): Promise<void> {
    const raw = (message as Delivery).raw;
    this.#unsettled.delete(raw);
    raw.ack();
  }

  async retry(message: SourceMessage, delayMs: number): Promise<void> {
    const raw = (message as Delivery).raw;
    this.#unsettled.delete(raw);
    raw.nak(Math.max(0, Math.round(delayMs)));
  }

  async deadLetter(message: SourceMessage, reason: DeadLetterReason): Promise<void> {
    const raw = (message as Delivery).raw;
    const subject = this.#options.deadLetterSubject;
    if (subject) {
      const h = natsHeaders();
      if (raw.headers)
        for (const [key, values] of raw.headers) for (const v of values) h.append(key, v);
      h.set('Roost-Tries', String(reason.tries));
      h.set('Roost-Error', reason.error.replace(/[\r\n]+/g, ' ').slice(0, 1024));
      h.set('Roost-Stream', this.#options.stream);
      h.set('Roost-Subject', raw.subject);
      h.set('Roost-Sequence', String(raw.seq));
      h.set('Roost-Trigger', `${this.#options.trigger.namespace}/${this.#options.trigger.name}`);
      try {
        await this.#js.publish(subject, raw.data, {
          headers: h,
          // A retried dead-lettering (ack lost) is stored once.
          msgID: `${this.#options.stream}-${raw.seq}-dead`,
        });
      } catch (err) {
        throw new BrokerUnreachableError(
          `Cannot publish the dead letter to ${subject} (does a stream capture it?): ${errorMessage(err)}`,
        );
      }
    }
    this.#unsettled.delete(raw);
    raw.ack();
  }

  async lag(): Promise<number> {
    try {
      const info = await this.#jsm.consumers.info(this.#options.stream, this.#options.durable);
      return info.num_pending + info.num_ack_pending;
    } catch (err) {
      if (/not found/i.test(errorMessage(err)))
        throw new QueueNotFoundError(
          `The stream ${this.#options.stream} or its consumer ${this.#options.durable} does not exist`,
        );
      throw new BrokerUnreachableError(`Cannot read the consumer's lag: ${errorMessage(err)}`);
    }
  }

  makeEvent(messages: SourceMessage[]): unknown {
    return { Records: messages.map((m) => m.record) };
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    await this.#messages?.close().catch(() => {});
    await this.#nc.close().catch(() => {});
  }
}

async function connectServer(options: {
  url: string;
  token?: string;
  trigger: { namespace: string; name: string };
}): Promise<NatsConnection> {
  try {
    return await connect({
      servers: options.url.split(','),
      name: `roost-triggers ${options.trigger.namespace}/${options.trigger.name}`,
      token: options.url.includes('@') ? undefined : options.token,
      // The consumer reconnects with its own back-off and says so in status.
      reconnect: false,
      timeout: 5000,
    });
  } catch (err) {
    throw new BrokerUnreachableError(
      `Cannot reach the NATS server: ${redact(errorMessage(err), [options.url, options.token ?? ''])}`,
    );
  }
}

/**
 * Deletes the durable consumer Roost created for a trigger. Its messages stay
 * in the stream (the stream is the user's); a consumer or stream already gone
 * counts as removed.
 */
export async function removeNatsObjects(options: {
  url: string;
  token?: string;
  stream: string;
  consumer: string;
  trigger: { namespace: string; name: string };
}): Promise<void> {
  const nc = await connectServer(options);
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(options.stream, options.consumer).catch((err: unknown) => {
      if (!/not found/i.test(errorMessage(err))) throw err;
    });
  } catch (err) {
    throw new BrokerUnreachableError(
      `Cannot delete the consumer ${options.consumer} of ${options.stream}: ${redact(errorMessage(err), [options.url, options.token ?? ''])}`,
    );
  } finally {
    await nc.close().catch(() => {});
  }
}
