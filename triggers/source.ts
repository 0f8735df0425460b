// What a queue trigger needs of a broker, so that a new kind of broker
// (Kafka) is one new file in sources/: connect, consume with a bound on
// unsettled messages, and settle each message one of three ways (ack, retry
// later, dead-letter), plus the lag. Everything about batching, invoking and
// counting lives in consumer.ts, the same for every broker.

/** One message as the consumer sees it. */
export interface SourceMessage {
  /** Unique within the trigger for as long as the message is unsettled: batchItemFailures names it. */
  id: string;
  /** Tries of this message that failed before this delivery (0 the first time). */
  failedTries: number;
  /** The message in the shape its source's event lists it (Amazon MQ message, NATS record). */
  record: unknown;
}

export interface ConsumeOptions {
  /** Most messages delivered and not yet settled. */
  prefetch: number;
  /** Ack deadline the broker applies, for brokers that have one (NATS). */
  ackWaitMs: number;
}

/** Why a message goes to the dead-letter destination. */
export interface DeadLetterReason {
  tries: number;
  error: string;
}

/** A connected broker. Every method may throw a TriggerError. */
export interface QueueSource {
  /** "rabbitmq" or "nats": the event's source and the status column. */
  readonly kind: string;
  /** The queue, or stream/subject, for people. */
  readonly queueName: string;
  /**
   * Calls onMessage for every delivery until close(). onLost is called once
   * if the connection or the queue goes away; the consumer then reconnects.
   */
  consume(
    onMessage: (message: SourceMessage) => void,
    onLost: (err: Error) => void,
    options: ConsumeOptions,
  ): Promise<void>;
  ack(message: SourceMessage): Promise<void>;
  /** Gives the message back to be tried again after delayMs, never holding up the others. */
  retry(message: SourceMessage, delayMs: number): Promise<void>;
  /** Stores the message in the dead-letter destination (if any), then removes it from the queue. */
  deadLetter(message: SourceMessage, reason: DeadLetterReason): Promise<void>;
  /** Messages waiting for this trigger. */
  lag(): Promise<number>;
  /** The event one invocation carries for this batch, in Lambda's shape for this kind of source. */
  makeEvent(messages: SourceMessage[]): unknown;
  close(): Promise<void>;
}
