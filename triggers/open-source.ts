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
import type { QueueTrigger, SecretKeyRef } from '../kube/api/roost.ts';
import { Secrets } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import { QUEUE_CREDENTIALS_LABEL } from '../kube/well-known.ts';
import { BrokerUnreachableError, InvalidSecretError, SecretNotFoundError } from './errors.ts';
import type { QueueSource } from './source.ts';
import { NatsSource } from './sources/nats.ts';
import { RabbitMQSource } from './sources/rabbitmq.ts';

export interface OpenSourceOptions {
  client: KubeClient;
  /** Roost's own NATS server: a nats source without serverSecretRef reads from it. */
  eventsUrl?: string;
  eventsToken?: string;
}

export async function openSource(
  trigger: QueueTrigger,
  options: OpenSourceOptions,
): Promise<QueueSource> {
  const namespace = trigger.metadata.namespace!;
  const name = trigger.metadata.name!;
  const { rabbitmq, nats } = trigger.spec.source;
  if (rabbitmq) {
    const url = await readUrl(options.client, namespace, rabbitmq.connectionSecretRef, [
      'amqp:',
      'amqps:',
    ]);
    return RabbitMQSource.connect({
      url,
      queue: rabbitmq.queue,
      deadLetterQueue: trigger.spec.deadLetter?.queue,
      trigger: { namespace, name },
    });
  }
  if (nats) {
    const own = !nats.serverSecretRef;
    const url = nats.serverSecretRef
      ? await readUrl(options.client, namespace, nats.serverSecretRef, ['nats:', 'tls:'])
      : options.eventsUrl;
    if (!url)
      throw new BrokerUnreachableError(
        'No NATS server: name one in spec.source.nats.serverSecretRef, or run roost triggers with --events-url',
      );
    return NatsSource.connect({
      url,
      token: own ? options.eventsToken : undefined,
      ownServer: own,
      stream: nats.stream,
      subject: nats.subject,
      durable: nats.durable,
      deadLetterSubject: trigger.spec.deadLetter?.subject,
      trigger: { namespace, name },
    });
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
