// The setting every QueueTrigger test runs in: a Roost system (gateway,
// hosts, NATS) in a fresh namespace, a real RabbitMQ on free ports, the
// function under test ("work", two replicas, reporting to an event sink), the
// Secret "rabbit" naming the broker, and two `roost triggers` replicas as
// competing consumers. useQueueTriggerEnv() registers the hooks that start
// and stop it all; its fields are set once beforeAll ran.
import amqp, { type ChannelModel } from 'amqplib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { QueueTriggers, Secrets } from '../../kube/api/resources.ts';
import type { QueueTrigger } from '../../kube/api/roost.ts';
import { QUEUE_CREDENTIALS_LABEL } from '../../kube/well-known.ts';
import { startRabbitMQ, type RabbitMQBroker } from '../../testenv/rabbitmq.ts';
import { adminClient, createNamespace, eventually } from './cluster.ts';
import { deployNodeFunction } from './deployments.ts';
import { startEventSink, type EventSink } from './event-sink.ts';
import { startRoostSystem, type RoostSystem } from './roost-system.ts';
import { startTriggers, type TriggersProcess } from './triggers-process.ts';

/**
 * The function under test. Each message body is {run, i, fail?, flaky?,
 * sleepMs?}: `fail` fails every try, `flaky` fails its first try only (told
 * by the tries header or delivery count). It reports the ids it handled to
 * the sink under the run's name, and names the rest in batchItemFailures.
 */
export const WORK = `export const handler = async (event) => {
  const items = event.rmqMessagesByQueue
    ? Object.values(event.rmqMessagesByQueue)[0].map((m) => ({
        id: m.messageId,
        body: JSON.parse(Buffer.from(m.data, 'base64').toString()),
        tries: Number(m.basicProperties.headers['x-roost-failed-tries'] ?? 0),
      }))
    : event.Records.map((r) => ({
        id: r.messageId,
        body: JSON.parse(Buffer.from(r.data, 'base64').toString()),
        tries: r.deliveryCount - 1,
      }));
  const run = items[0].body.run;
  if (items[0].body.sleepMs) {
    await fetch(process.env.SINK + '/' + run + '-started', { method: 'POST', body: '{}' });
    await new Promise((r) => setTimeout(r, items[0].body.sleepMs));
  }
  const ok = [];
  const batchItemFailures = [];
  for (const item of items) {
    if (item.body.fail || (item.body.flaky && item.tries === 0))
      batchItemFailures.push({ itemIdentifier: item.id });
    else ok.push(item.body.i);
  }
  await fetch(process.env.SINK + '/' + run, {
    method: 'POST',
    body: JSON.stringify({ ok, size: items.length, eventSource: event.eventSource ?? event.Records[0].eventSource }),
  });
  return { batchItemFailures };
};`;

/**
 * Flags of every replica: a short NATS ack wait, so that a killed replica's
 * messages move on in seconds, and a short cleanup bound, so that a deleted
 * trigger whose broker is gone goes in seconds.
 */
export const TRIGGERS_ARGS = ['--ack-wait=3s', '--cleanup-timeout=6s'];
/** The label that lets triggers use a Secret. */
export const CREDENTIALS = { [QUEUE_CREDENTIALS_LABEL]: 'true' };

export interface QueueTriggerEnv {
  client: ReturnType<typeof adminClient>;
  system: RoostSystem;
  rabbit: RabbitMQBroker;
  amqpConnection: ChannelModel;
  nc: NatsConnection;
  namespace: string;
  sink: EventSink;
  /** The running replicas; a test that kills one replaces it here. */
  replicas: TriggersProcess[];
  createTrigger(name: string, spec: Partial<QueueTrigger['spec']>): Promise<QueueTrigger>;
  getTrigger(name: string): Promise<QueueTrigger>;
  waitReady(name: string, status?: 'True' | 'False', reason?: string): Promise<QueueTrigger>;
  /** The message numbers the function reported handling, with repeats. */
  handled(run: string): number[];
  publishRabbit(queue: string, bodies: object[]): Promise<void>;
  drainRabbit(queue: string): Promise<amqp.GetMessage[]>;
}

export function useQueueTriggerEnv(): QueueTriggerEnv {
  const client = adminClient();
  const env = { client, replicas: [] as TriggersProcess[] } as unknown as QueueTriggerEnv;

  beforeAll(async () => {
    env.sink = await startEventSink();
    env.namespace = await createNamespace(client, 'queuet');
    [env.system, env.rabbit] = await Promise.all([
      startRoostSystem({
        namespace: env.namespace,
        hosts: [{ name: 'host-1' }, { name: 'host-2' }],
      }),
      startRabbitMQ(),
    ]);
    env.amqpConnection = await amqp.connect(env.rabbit.url);
    env.nc = await connect({ servers: env.system.nats.url, token: env.system.hosts.token });
    await client.create(Secrets, {
      metadata: { name: 'rabbit', namespace: env.namespace, labels: CREDENTIALS },
      stringData: { url: env.rabbit.url },
    });
    await deployNodeFunction(client, {
      namespace: env.namespace,
      name: 'work',
      source: WORK,
      replicas: 2,
      env: { SINK: env.sink.url },
    });
    for (const identity of ['triggers-a', 'triggers-b'])
      env.replicas.push(startTriggers(env.system, { identity, extraArgs: TRIGGERS_ARGS }));
    await Promise.all(env.replicas.map((r) => r.ready));
  }, 180_000);

  afterAll(async () => {
    for (const r of env.replicas) await r.stop();
    await env.amqpConnection?.close().catch(() => {});
    await env.nc?.close().catch(() => {});
    await env.system?.stop();
    await env.rabbit?.stop();
    await env.sink?.stop();
  });

  env.createTrigger = (name, spec) =>
    client.create(QueueTriggers, {
      metadata: { name, namespace: env.namespace },
      spec: { target: { name: 'work' }, ...spec } as QueueTrigger['spec'],
    });
  env.getTrigger = (name) => client.get(QueueTriggers, { namespace: env.namespace, name });
  env.waitReady = (name, status = 'True', reason) =>
    eventually(
      async () => {
        const t = await env.getTrigger(name);
        const ready = t.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === status && (!reason || ready.reason === reason) ? t : undefined;
      },
      { what: `${name} Ready=${status}${reason ? ` (${reason})` : ''}`, timeoutMs: 30_000 },
    );
  env.handled = (run) =>
    env.sink.of(run).flatMap((r) => (JSON.parse(r.body) as { ok: number[] }).ok);
  env.publishRabbit = async (queue, bodies) => {
    const channel = await env.amqpConnection.createConfirmChannel();
    for (const body of bodies)
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), { persistent: true });
    await channel.waitForConfirms();
    await channel.close();
  };
  env.drainRabbit = async (queue) => {
    const channel = await env.amqpConnection.createChannel();
    const got: amqp.GetMessage[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) break;
      got.push(message);
    }
    await channel.close();
    return got;
  };
  return env;
}
