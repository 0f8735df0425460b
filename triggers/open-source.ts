// Connects a trigger to its broker: reads the connection from the Secret the
// trigger names (always in the trigger's own namespace: the API has no field
// for another, so a trigger in namespace A can never use a Secret of B) and
// opens the source of its kind. The Secret is read with a single get at each
// connection attempt, never listed or watched, so roost triggers needs no
// more than `get` on secrets, and a Secret fixed after a failure is picked up
// at the next attempt. No error here quotes the Secret's value.
//
// The Secret must be labelled roost.dev/queue-credentials=true: roost
// triggers can read Secrets that the trigger's author may not, and only
// Secrets someone marked for triggers are used for them.
import type { Secret } from '../kube/api/core.ts';
import type {
  QueueSource as QueueTriggerSource,
  QueueTrigger,
  QueueTriggerCreated,
  SecretKeyRef,
} from '../kube/api/roost.ts';
import { Secrets } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import { QUEUE_CREDENTIALS_LABEL } from '../kube/well-known.ts';
import { BrokerUnreachableError, InvalidSecretError, SecretNotFoundError } from './errors.ts';
import type { QueueSource } from './source.ts';
import { NatsSource, removeNatsObjects } from './sources/nats.ts';
import { isDelayQueueOf, RabbitMQSource, removeRabbitMQObjects } from './sources/rabbitmq.ts';

export interface OpenSourceOptions {
  client: KubeClient;
  /** Roost's own NATS server: a nats source without serverSecretRef reads from it. */
  eventsUrl?: string;
  eventsToken?: string;
}

/** Records in the trigger's status an object Roost is about to make in the broker. */
export type RecordCreated = (created: { queue?: string; consumer?: string }) => Promise<void>;

export async function openSource(
  trigger: QueueTrigger,
  options: OpenSourceOptions & { recordCreated: RecordCreated },
): Promise<QueueSource> {
  const namespace = trigger.metadata.namespace!;
  const name = trigger.metadata.name!;
  const { rabbitmq, nats } = trigger.spec.source;
  const server = await serverOf(namespace, trigger.spec.source, options);
  if (rabbitmq)
    return RabbitMQSource.connect({
      url: server.url,
      queue: rabbitmq.queue,
      deadLetterQueue: trigger.spec.deadLetter?.queue,
      trigger: { namespace, name },
      recordCreated: options.recordCreated,
    });
  return NatsSource.connect({
    url: server.url,
    token: server.token,
    ownServer: server.own,
    stream: nats!.stream,
    subject: nats!.subject,
    durable: nats!.durable,
    deadLetterSubject: trigger.spec.deadLetter?.subject,
    trigger: { namespace, name },
    recordCreated: options.recordCreated,
  });
}

/**
 * Removes what Roost recorded making in the broker of `created.source`
 * (reading that source's Secret again, so a Secret deleted with the trigger
 * makes this fail, and the caller gives up after its bound).
 */
export async function removeCreated(
  trigger: QueueTrigger,
  created: QueueTriggerCreated,
  options: OpenSourceOptions,
): Promise<void> {
  const namespace = trigger.metadata.namespace!;
  const name = trigger.metadata.name!;
  const { rabbitmq, nats } = created.source;
  const owned = ownedObjects(created);
  if (owned.queues.length === 0 && !owned.consumer) return;
  const server = await serverOf(namespace, created.source, options);
  if (rabbitmq)
    await removeRabbitMQObjects({
      url: server.url,
      queue: rabbitmq.queue,
      delayQueues: owned.queues,
      trigger: { namespace, name },
    });
  else if (nats && owned.consumer)
    await removeNatsObjects({
      url: server.url,
      token: server.token,
      stream: nats.stream,
      consumer: owned.consumer,
      trigger: { namespace, name },
    });
}

/** What Roost made, for people: "queue orders.roost-retry.1000ms", "consumer ORDERS/work". */
export function describeCreated(created: QueueTriggerCreated): string[] {
  const owned = ownedObjects(created);
  if (created.source.nats)
    return owned.consumer ? [`consumer ${created.source.nats.stream}/${owned.consumer}`] : [];
  return owned.queues.map((q) => `queue ${q}`);
}

/**
 * The objects of an entry that Roost may remove. status.created can be
 * written by whoever may write the trigger's status, so only names Roost
 * itself would have made on that source count: a delay queue of its queue,
 * the durable it names. A forged entry listing the user's queue, dead-letter
 * queue or another consumer removes nothing.
 */
function ownedObjects(created: QueueTriggerCreated): { queues: string[]; consumer?: string } {
  const { rabbitmq, nats } = created.source;
  return {
    queues: rabbitmq ? (created.queues ?? []).filter((q) => isDelayQueueOf(q, rabbitmq.queue)) : [],
    consumer: nats && created.consumer === nats.durable ? created.consumer : undefined,
  };
}

/** The broker's URL (from the source's Secret, or Roost's own NATS) and its token. */
async function serverOf(
  namespace: string,
  source: QueueTriggerSource,
  options: OpenSourceOptions,
): Promise<{ url: string; token?: string; own: boolean }> {
  const { rabbitmq, nats } = source;
  if (rabbitmq)
    return {
      url: await readUrl(options.client, namespace, rabbitmq.connectionSecretRef, [
        'amqp:',
        'amqps:',
      ]),
      own: false,
    };
  if (nats) {
    if (nats.serverSecretRef)
      return {
        url: await readUrl(options.client, namespace, nats.serverSecretRef, ['nats:', 'tls:']),
        own: false,
      };
    if (!options.eventsUrl)
      throw new BrokerUnreachableError(
        'No NATS server: name one in spec.source.nats.serverSecretRef, or run roost triggers with --events-url',
      );
    return { url: options.eventsUrl, token: options.eventsToken, own: true };
  }
  throw new InvalidSecretError(
    'The trigger names no source (spec.source.rabbitmq or spec.source.nats)',
  );
}

/** The URL in one key of a Secret of `namespace`, checked for its scheme; never quoted. */
async function readUrl(
  client: KubeClient,
  namespace: string,
  ref: SecretKeyRef,
  schemes: string[],
): Promise<string> {
  let secret: Secret;
  try {
    secret = await client.get(Secrets, { namespace, name: ref.name });
  } catch (err) {
    if (isNotFound(err))
      throw new SecretNotFoundError(`No Secret ${ref.name} in namespace ${namespace}`);
    if (err instanceof KubeApiError && err.status === 403)
      throw new SecretNotFoundError(
        `roost triggers may not read the Secret ${ref.name} in namespace ${namespace} (RBAC)`,
      );
    throw err;
  }
  if (secret.metadata.labels?.[QUEUE_CREDENTIALS_LABEL] !== 'true')
    throw new InvalidSecretError(
      `The Secret ${ref.name} is not labelled ${QUEUE_CREDENTIALS_LABEL}=true: only Secrets marked for queue triggers are used by them`,
    );
  const encoded = secret.data?.[ref.key];
  if (encoded === undefined)
    throw new InvalidSecretError(`The Secret ${ref.name} has no key ${ref.key}`);
  const value = Buffer.from(encoded, 'base64').toString('utf8').trim();
  let scheme: string | undefined;
  try {
    scheme = new URL(value).protocol;
  } catch {
    scheme = undefined;
  }
  if (!scheme || !schemes.includes(scheme))
    throw new InvalidSecretError(
      `The key ${ref.key} of Secret ${ref.name} does not hold a ${schemes.map((s) => `${s}//`).join(' or ')} URL`,
    );
  return value;
}
