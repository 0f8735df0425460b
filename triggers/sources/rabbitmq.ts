// A RabbitMQ queue as a trigger's source (amqplib). One connection per
// trigger and replica, with three channels: one consumes (its prefetch bounds
// the unsettled messages), one publishes with confirms (retries and dead
// letters are stored before the original is acknowledged), one answers lag
// queries (a passive declare of a missing queue closes the channel it ran on).
//
// Retries never hold up the queue: a failed message is published to a delay
// queue of its own back-off (`<queue>.roost-retry.<ms>ms`, whose TTL
// dead-letters it back into the queue), carrying its count of failed tries in
// the header x-roost-failed-tries, and then acknowledged. A consumer that
// dies with messages unacknowledged loses nothing and uses up no try: the
// broker redelivers them (redelivered: true).
//
// Dead letters: Roost declares the direct exchange roost.dead-letter and the
// queue spec.deadLetter.queue bound to it by the queue's name, and publishes a
// message that failed for good there, with why in its headers.
//
// Both publishes are mandatory: a queue deleted under Roost (by hand, or by
// the removal of a trigger that shared it) makes the broker return the
// message rather than confirm and drop it. Roost declares the queue again and
// publishes once more; if that fails too the source is lost and started
// over, and the original, never acknowledged, is delivered again.
import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
} from 'amqplib';
import { errorMessage } from '../../lib/errors.ts';
import { BrokerUnreachableError, QueueNotFoundError, redact } from '../errors.ts';
import type { ConsumeOptions, DeadLetterReason, QueueSource, SourceMessage } from '../source.ts';

export const DEAD_LETTER_EXCHANGE = 'roost.dead-letter';
export const FAILED_TRIES_HEADER = 'x-roost-failed-tries';

export interface RabbitMQSourceOptions {
  /** amqp:// or amqps:// with credentials; never logged. */
  url: string;
  queue: string;
  deadLetterQueue?: string;
  /** Shown in the broker's connection list and in the event's ARN: "namespace/name". */
  trigger: { namespace: string; name: string };
  /** Records a delay queue in the trigger's status before it is declared (so that it is removed with the trigger). */
  recordCreated(created: { queue: string }): Promise<void>;
}

/** A message of the Amazon MQ for RabbitMQ event, plus the id batchItemFailures names. */
export interface RabbitMQRecord {
  messageId: string;
  basicProperties: Record<string, unknown>;
  redelivered: boolean;
  /** The body, base64. */
  data: string;
}

interface Delivery extends SourceMessage {
  raw: ConsumeMessage;
}

export class RabbitMQSource implements QueueSource {
  readonly kind = 'rabbitmq';
  readonly queueName: string;
  readonly #options: RabbitMQSourceOptions;
  readonly #connection: ChannelModel;
  readonly #consumeChannel: Channel;
  readonly #publishChannel: ConfirmChannel;
  #lagChannel: Channel | undefined;
  /** Delay queues declared so far (their messages count as lag). */
  readonly #delayQueues = new Set<string>();
  /**
   * Messages the broker returned as unroutable, by routing key, not yet
   * matched with their confirm: a return comes before the confirm of the
   * same message, and confirms come in order of publishing.
   */
  readonly #returned = new Map<string, number>();
  #lose: (err: Error) => void = () => {};
  #closing = false;

  private constructor(
    options: RabbitMQSourceOptions,
    connection: ChannelModel,
    consume: Channel,
    publish: ConfirmChannel,
  ) {
    this.#options = options;
    this.queueName = options.queue;
    this.#connection = connection;
    this.#consumeChannel = consume;
    this.#publishChannel = publish;
    publish.on('return', (message: ConsumeMessage) => {
      const key = message.fields.routingKey;
      this.#returned.set(key, (this.#returned.get(key) ?? 0) + 1);
    });
  }

  /** Connects and checks that the queue exists; declares the dead-letter exchange and queue. */
  static async connect(options: RabbitMQSourceOptions): Promise<RabbitMQSource> {
    const connection = await connectBroker(options.url, options.trigger);
    try {
      const consume = await connection.createChannel();
      consume.on('error', () => {});
      try {
        await consume.checkQueue(options.queue);
      } catch (err) {
        throw notFoundOr(err, options);
      }
      const publish = await connection.createConfirmChannel();
      publish.on('error', () => {});
      if (options.deadLetterQueue) await declareDeadLetterQueue(publish, options.deadLetterQueue);
      return new RabbitMQSource(options, connection, consume, publish);
    } catch (err) {
      await connection.close().catch(() => {});
      if (err instanceof QueueNotFoundError) throw err;
      throw new BrokerUnreachableError(
        `Cannot set up RabbitMQ channels: ${redact(errorMessage(err), [options.url])}`,
      );
    }
  }

  async consume(
    onMessage: (message: SourceMessage) => void,
    onLost: (err: Error) => void,
    options: ConsumeOptions,
  ): Promise<void> {
    let lost = false;
    const lose = (err: Error) => {
      if (lost || this.#closing) return;
      lost = true;
      onLost(err);
    };
    this.#lose = lose;
    this.#connection.on('close', () =>
      lose(new BrokerUnreachableError('The connection to the RabbitMQ broker was lost')),
    );
    this.#consumeChannel.on('close', () =>
      lose(new BrokerUnreachableError('The RabbitMQ consuming channel was closed')),
    );
    // A refused retry or dead-letter publish closes this one: start over, or
    // the messages it held would stay unacknowledged while the rest go on.
    this.#publishChannel.on('close', () =>
      lose(new BrokerUnreachableError('The RabbitMQ publishing channel was closed')),
    );
    await this.#consumeChannel.prefetch(options.prefetch);
    await this.#consumeChannel.consume(
      this.#options.queue,
      (raw) => {
        // null: the broker cancelled the consumer (the queue was deleted).
        if (!raw)
          return lose(new QueueNotFoundError(`The queue ${this.#options.queue} was deleted`));
        onMessage(this.#toMessage(raw));
      },
      { noAck: false },
    );
  }

  #toMessage(raw: ConsumeMessage): Delivery {
    const headers = (raw.properties.headers ?? {}) as Record<string, unknown>;
    const failedTries = Number(headers[FAILED_TRIES_HEADER] ?? 0) || 0;
    const id = `${raw.fields.consumerTag.slice(-8)}-${raw.fields.deliveryTag}`;
    const p = raw.properties;
    const record: RabbitMQRecord = {
      messageId: id,
      basicProperties: {
        contentType: p.contentType ?? null,
        contentEncoding: p.contentEncoding ?? null,
        headers,
        deliveryMode: p.deliveryMode ?? null,
        priority: p.priority ?? null,
        correlationId: p.correlationId ?? null,
        replyTo: p.replyTo ?? null,
        expiration: p.expiration ?? null,
        messageId: p.messageId ?? null,
        timestamp: p.timestamp ?? null,
        type: p.type ?? null,
        userId: p.userId ?? null,
        appId: p.appId ?? null,
        clusterId: p.clusterId ?? null,
        bodySize: raw.content.length,
      },
      redelivered: raw.fields.redelivered,
      data: raw.content.toString('base64'),
    };
    return { id, failedTries, record, raw };
  }

  async ack(message: SourceMessage): Promise<void> {
    this.#consumeChannel.ack((message as Delivery).raw);
  }

  async retry(message: SourceMessage, delayMs: number): Promise<void> {
    const raw = (message as Delivery).raw;
    const headers = { ...(raw.properties.headers ?? {}) } as Record<string, unknown>;
    // The broker's own death records grow with every round through a delay queue.
    for (const key of Object.keys(headers))
      if (
        key.startsWith('x-death') ||
        key.startsWith('x-first-death') ||
        key.startsWith('x-last-death')
      )
        delete headers[key];
    headers[FAILED_TRIES_HEADER] = message.failedTries + 1;
    const delay = Math.max(0, Math.round(delayMs));
    if (delay === 0) await this.#publishOrLose('', this.#options.queue, raw, headers);
    else {
      const queue = await this.#delayQueue(delay);
      await this.#publishOrLose('', queue, raw, headers, async () => {
        this.#delayQueues.delete(queue);
        await this.#delayQueue(delay);
      });
    }
    this.#consumeChannel.ack(raw);
  }

  async deadLetter(message: SourceMessage, reason: DeadLetterReason): Promise<void> {
    const raw = (message as Delivery).raw;
    if (this.#options.deadLetterQueue) {
      const headers = {
        ...(raw.properties.headers ?? {}),
        'x-roost-tries': reason.tries,
        'x-roost-error': reason.error.slice(0, 1024),
        'x-roost-queue': this.#options.queue,
        'x-roost-trigger': `${this.#options.trigger.namespace}/${this.#options.trigger.name}`,
      };
      const queue = this.#options.deadLetterQueue;
      await this.#publishOrLose(DEAD_LETTER_EXCHANGE, queue, raw, headers, () =>
        declareDeadLetterQueue(this.#publishChannel, queue),
      );
    }
    this.#consumeChannel.ack(raw);
  }

  /**
   * Publishes; a message returned because its queue is gone is published
   * once more after `redeclare`. A publish that still fails loses the
   * source (the consumer starts over; the original is delivered again).
   */
  async #publishOrLose(
    exchange: string,
    routingKey: string,
    raw: ConsumeMessage,
    headers: Record<string, unknown>,
    redeclare?: () => Promise<void>,
  ): Promise<void> {
    try {
      try {
        await this.#publish(exchange, routingKey, raw, headers);
      } catch (err) {
        if (!(err instanceof UnroutableError) || !redeclare) throw err;
        await redeclare();
        await this.#publish(exchange, routingKey, raw, headers);
      }
    } catch (err) {
      const error =
        err instanceof BrokerUnreachableError
          ? err
          : new BrokerUnreachableError(
              `RabbitMQ failed: ${redact(errorMessage(err), [this.#options.url])}`,
            );
      this.#lose(error);
      throw error;
    }
  }

  async #publish(
    exchange: string,
    routingKey: string,
    raw: ConsumeMessage,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const p = raw.properties;
    await new Promise<void>((resolve, reject) => {
      this.#publishChannel.publish(
        exchange,
        routingKey,
        raw.content,
        {
          mandatory: true,
          headers,
          contentType: p.contentType,
          contentEncoding: p.contentEncoding,
          deliveryMode: p.deliveryMode ?? 2,
          priority: p.priority,
          correlationId: p.correlationId,
          replyTo: p.replyTo,
          messageId: p.messageId,
          timestamp: p.timestamp,
          type: p.type,
          appId: p.appId,
        },
        (err) =>
          err
            ? reject(new BrokerUnreachableError(`RabbitMQ refused a publish to ${routingKey}`))
            : this.#takeReturn(routingKey)
              ? reject(new UnroutableError(routingKey))
              : resolve(),
      );
    });
  }

  /** Whether the broker returned a message published to `routingKey` (and counts it as matched). */
  #takeReturn(routingKey: string): boolean {
    const count = this.#returned.get(routingKey) ?? 0;
    if (count === 0) return false;
    if (count === 1) this.#returned.delete(routingKey);
    else this.#returned.set(routingKey, count - 1);
    return true;
  }

  async #delayQueue(delayMs: number): Promise<string> {
    const name = delayQueueName(this.#options.queue, delayMs);
    if (!this.#delayQueues.has(name)) {
      await this.#options.recordCreated({ queue: name });
      await this.#publishChannel.assertQueue(name, {
        durable: true,
        arguments: {
          'x-message-ttl': delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': this.#options.queue,
        },
      });
      this.#delayQueues.add(name);
    }
    return name;
  }

  async lag(): Promise<number> {
    let total: number;
    try {
      total = await this.#messageCount(this.#options.queue);
    } catch (err) {
      throw notFoundOr(err, this.#options);
    }
    for (const name of [...this.#delayQueues]) {
      try {
        total += await this.#messageCount(name);
      } catch (err) {
        if (!isNotFound(err)) throw notFoundOr(err, this.#options);
        // Deleted under Roost, so it holds nothing; the next retry declares it again.
        this.#delayQueues.delete(name);
      }
    }
    return total;
  }

  async #messageCount(queue: string): Promise<number> {
    const channel = (this.#lagChannel ??= await this.#openLagChannel());
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (err) {
      // A failed passive declare closes the channel it ran on.
      this.#lagChannel = undefined;
      throw err;
    }
  }

  async #openLagChannel(): Promise<Channel> {
    const channel = await this.#connection.createChannel();
    channel.on('error', () => {});
    channel.on('close', () => {
      if (this.#lagChannel === channel) this.#lagChannel = undefined;
    });
    return channel;
  }

  makeEvent(messages: SourceMessage[]): unknown {
    const { namespace, name } = this.#options.trigger;
    return {
      eventSource: 'roost:rmq',
      eventSourceArn: `roost:${namespace}:queuetrigger/${name}`,
      rmqMessagesByQueue: {
        // Amazon MQ keys by queue and virtual host.
        [`${this.#options.queue}::${vhostOf(this.#options.url)}`]: messages.map((m) => m.record),
      },
    };
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#connection.close().catch(() => {});
  }
}

/** The delay queue of `queue`'s retries after `delayMs`. */
export function delayQueueName(queue: string, delayMs: number): string {
  return `${queue}.roost-retry.${delayMs}ms`;
}

/** Whether `name` is a name delayQueueName gives for `queue`: the only queues Roost ever removes. */
export function isDelayQueueOf(name: string, queue: string): boolean {
  const prefix = `${queue}.roost-retry.`;
  return name.startsWith(prefix) && /^\d+ms$/.test(name.slice(prefix.length));
}

async function connectBroker(
  url: string,
  trigger: { namespace: string; name: string },
): Promise<ChannelModel> {
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(withHeartbeat(url), {
      clientProperties: { connection_name: `roost-triggers ${trigger.namespace}/${trigger.name}` },
      timeout: 5000,
      // Acks are small frames: sent at once, so the broker refills the prefetch without delay.
      noDelay: true,
    });
  } catch (err) {
    throw new BrokerUnreachableError(
      `Cannot reach the RabbitMQ broker: ${redact(errorMessage(err), [url])}`,
    );
  }
  // A dead connection is reported through onLost; without a listener, Node would throw.
  connection.on('error', () => {});
  return connection;
}

/**
 * Removes the delay queues Roost declared for a trigger's queue. Their
 * messages are retries waiting for their back-off: each is put back into the
 * queue first (published with a confirm, then acknowledged), so none is
 * lost; the delay queue is then deleted only if it is empty, so a retry
 * published meanwhile by a replica still stopping fails this round, to be
 * moved by the next one. A delay queue already gone counts as removed. The
 * user's queue, dead-letter queue and the roost.dead-letter exchange are
 * never touched.
 */
export async function removeRabbitMQObjects(options: {
  url: string;
  queue: string;
  delayQueues: string[];
  trigger: { namespace: string; name: string };
}): Promise<void> {
  const connection = await connectBroker(options.url, options.trigger);
  try {
    for (const name of options.delayQueues) {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => {});
      try {
        await channel.checkQueue(name);
      } catch (err) {
        if (/NOT_FOUND|404/.test(errorMessage(err))) continue;
        throw err;
      }
      for (;;) {
        const message = await channel.get(name, { noAck: false });
        if (!message) break;
        const headers = { ...(message.properties.headers ?? {}) } as Record<string, unknown>;
        for (const key of Object.keys(headers))
          if (/^x-(first-|last-)?death/.test(key)) delete headers[key];
        channel.publish('', options.queue, message.content, { ...message.properties, headers });
        await channel.waitForConfirms();
        channel.ack(message);
      }
      await channel.deleteQueue(name, { ifEmpty: true });
      await channel.close().catch(() => {});
    }
  } catch (err) {
    throw new BrokerUnreachableError(
      `Cannot remove the retry delay queues of ${options.queue}: ${redact(errorMessage(err), [options.url])}`,
    );
  } finally {
    await connection.close().catch(() => {});
  }
}

/** A publish the broker returned: no queue took it (the queue was deleted). */
class UnroutableError extends BrokerUnreachableError {
  constructor(queue: string) {
    super(`RabbitMQ had no queue ${queue} for a retry or dead letter (was it deleted?)`);
  }
}

/** The dead-letter exchange, the queue, and the binding between them by the queue's name. */
async function declareDeadLetterQueue(channel: ConfirmChannel, queue: string): Promise<void> {
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, DEAD_LETTER_EXCHANGE, queue);
}

function isNotFound(err: unknown): boolean {
  return /NOT_FOUND|404/.test(errorMessage(err));
}

function notFoundOr(err: unknown, options: RabbitMQSourceOptions): Error {
  const message = errorMessage(err);
  if (isNotFound(err))
    return new QueueNotFoundError(
      `The queue ${options.queue} does not exist on the RabbitMQ broker (Roost does not declare it)`,
    );
  return new BrokerUnreachableError(`RabbitMQ failed: ${redact(message, [options.url])}`);
}

function vhostOf(url: string): string {
  try {
    const path = new URL(url).pathname;
    return path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
  } catch {
    return '/';
  }
}

/** A broker that vanishes without closing the socket is noticed within 30 s, unless the URL says otherwise. */
function withHeartbeat(url: string): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=10`;
}
