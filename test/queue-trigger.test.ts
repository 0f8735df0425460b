// QueueTriggers as a user meets them, against a real RabbitMQ (Debian's
// rabbitmq-server on free ports) and the real nats-server, with two
// `roost triggers` replicas as competing consumers and functions invoked
// through the gateway's Invoke API:
//   - 1,000 messages per broker, a known tenth failing for good and another
//     tenth failing once: every success ran exactly once (so a partial batch
//     failure retried only its failed messages), every failure is in the
//     dead-letter destination after its retries, and the counts are exact;
//   - a replica SIGKILLed mid-batch loses nothing;
//   - a missing queue and an unreachable broker show in Ready, and recover;
//   - no credential reaches status, Events or logs; a trigger cannot name
//     Roost's own streams.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelModel } from 'amqplib';
import { parse } from 'yaml';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { beforeAll, describe, expect, test } from 'vitest';
import { Events, QueueTriggers, SandboxDeployments, Secrets } from '../kube/api/resources.ts';
import type { QueueTrigger } from '../kube/api/roost.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { RabbitMQBroker } from '../testenv/rabbitmq.ts';
import { createNamespace, eventually, kubectl } from './support/cluster.ts';
import { roost, systemEnv } from './support/roost-cli.ts';
import { deployNodeFunction } from './support/deployments.ts';
import type { EventSink } from './support/event-sink.ts';
import { CREDENTIALS, TRIGGERS_ARGS, WORK, useQueueTriggerEnv } from './support/queue-triggers.ts';
import type { RoostSystem } from './support/roost-system.ts';
import { startTriggers } from './support/triggers-process.ts';

const env = useQueueTriggerEnv();
const {
  client,
  replicas,
  createTrigger,
  getTrigger,
  waitReady,
  handled,
  publishRabbit,
  drainRabbit,
} = env;
let system: RoostSystem;
let rabbit: RabbitMQBroker;
let amqpConnection: ChannelModel;
let nc: NatsConnection;
let namespace: string;
let sink: EventSink;

beforeAll(() => {
  ({ system, rabbit, amqpConnection, nc, namespace, sink } = env);
});

const PASSWORD = 'pa55-never-print-me';

/** Every message body of a run: i from 0; i % 10 == 0 fails for good, i % 10 == 5 fails once. */
function messages(run: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    run,
    i,
    ...(i % 10 === 0 ? { fail: true } : {}),
    ...(i % 10 === 5 ? { flaky: true } : {}),
  }));
}

/**
 * Publishes 40 slow messages of `run`, SIGKILLs a roost triggers replica
 * once batches have started, and checks that every message still ran; then
 * starts a fresh replica in its place.
 */
async function killReplicaMidBatch(run: string, publish: (bodies: object[]) => Promise<void>) {
  await publish(Array.from({ length: 40 }, (_, i) => ({ run, i, sleepMs: 1500 })));
  await eventually(() => sink.of(`${run}-started`).length >= 3, { what: 'batches to start' });
  const victim = replicas.shift()!;
  victim.process.kill('SIGKILL');
  await victim.process.exited;
  await eventually(() => new Set(handled(run)).size === 40, {
    what: `all 40 of ${run} handled after the kill`,
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  expect([...new Set(handled(run))].sort((a, b) => a - b)).toEqual(
    Array.from({ length: 40 }, (_, i) => i),
  );
  const fresh = startTriggers(system, {
    identity: `triggers-after-${run}`,
    extraArgs: TRIGGERS_ARGS,
  });
  replicas.push(fresh);
  await fresh.ready;
}

function expectExactRun(run: string, count: number) {
  const ran = handled(run);
  const successes = Array.from({ length: count }, (_, i) => i).filter((i) => i % 10 !== 0);
  // Each success exactly once: a batch with failures retried only them.
  expect([...ran].sort((a, b) => a - b)).toEqual(successes);
}

describe('RabbitMQ', () => {
  test('1,000 messages: every success runs once, every failure is dead-lettered after its retries, counts exact', async () => {
    const channel = await amqpConnection.createChannel();
    await channel.assertQueue('orders', { durable: true });
    await channel.close();
    await createTrigger('rmq-orders', {
      source: {
        rabbitmq: { connectionSecretRef: { name: 'rabbit', key: 'url' }, queue: 'orders' },
      },
      batchSize: 10,
      maxConcurrency: 4,
      maxRetries: 2,
      retryDelaySeconds: 1,
      deadLetter: { queue: 'orders-dead' },
    });
    await waitReady('rmq-orders');
    const started = Date.now();
    await publishRabbit('orders', messages('rmq', 1000));
    const done = await eventually(
      async () => {
        const t = await getTrigger('rmq-orders');
        return t.status?.delivered === 900 && t.status?.deadLettered === 100 ? t : undefined;
      },
      { what: '900 delivered and 100 dead-lettered', timeoutMs: 90_000, intervalMs: 250 },
    );
    console.log(`RabbitMQ: 1,000 messages settled in ${Date.now() - started} ms`);
    // A fail-for-good message is tried 3 times, a flaky one fails once.
    expect(done.status).toMatchObject({ delivered: 900, failed: 400, deadLettered: 100 });
    expectExactRun('rmq', 1000);
    const first = JSON.parse(sink.of('rmq')[0]!.body) as { eventSource: string; size: number };
    expect(first.eventSource).toBe('roost:rmq');
    const dead = await drainRabbit('orders-dead');
    expect(
      dead.map((m) => (JSON.parse(m.content.toString()) as { i: number }).i).sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 100 }, (_, k) => k * 10));
    for (const m of dead) {
      expect(m.properties.headers?.['x-roost-tries']).toBe(3);
      expect(String(m.properties.headers?.['x-roost-error'])).toContain('batchItemFailures');
    }
    const check = await amqpConnection.createChannel();
    expect((await check.checkQueue('orders')).messageCount).toBe(0);
    await check.close();
    await eventually(async () => (await getTrigger('rmq-orders')).status?.lag === 0, {
      what: 'lag 0',
    });
    const listed = await roost(['get', 'triggers', '-n', namespace], { env: systemEnv(system) });
    expect(listed.stdout).toMatch(
      /^NAME\s+TYPE\s+SOURCE\s+QUEUE\s+TARGET\s+READY\s+LAG\s+DELIVERED\s+FAILED\s+DEAD\s+AGE/m,
    );
    expect(listed.stdout).toMatch(
      /rmq-orders\s+queue\s+rabbitmq\s+orders\s+work\s+True\s+0\s+900\s+400\s+100/,
    );
    const columns = await kubectl(['get', 'qt', 'rmq-orders', '-n', namespace]);
    expect(columns.stdout).toMatch(/^NAME\s+SOURCE\s+QUEUE\s+TARGET\s+READY\s+LAG\s+AGE/);
    expect(columns.stdout).toMatch(/rmq-orders\s+rabbitmq\s+orders\s+work\s+True\s+0/);
  }, 120_000);

  test('a replica SIGKILLed mid-batch loses nothing', async () => {
    const channel = await amqpConnection.createChannel();
    await channel.assertQueue('slow', { durable: true });
    await channel.close();
    await createTrigger('rmq-slow', {
      source: { rabbitmq: { connectionSecretRef: { name: 'rabbit', key: 'url' }, queue: 'slow' } },
      batchSize: 5,
      maxConcurrency: 2,
    });
    await waitReady('rmq-slow');
    await killReplicaMidBatch('slow', (bodies) => publishRabbit('slow', bodies));
  }, 90_000);

  test('a retry or dead-letter queue deleted by hand loses no message: Roost declares it again', async () => {
    const channel = await amqpConnection.createChannel();
    await channel.assertQueue('fragile', { durable: true });
    await createTrigger('rmq-fragile', {
      source: {
        rabbitmq: { connectionSecretRef: { name: 'rabbit', key: 'url' }, queue: 'fragile' },
      },
      batchSize: 1,
      maxRetries: 1,
      retryDelaySeconds: 1,
      deadLetter: { queue: 'fragile-dead' },
    });
    await waitReady('rmq-fragile');
    const deadLettered = (count: number) =>
      eventually(async () => (await getTrigger('rmq-fragile')).status?.deadLettered === count, {
        what: `${count} dead-lettered`,
        timeoutMs: 30_000,
        intervalMs: 250,
      });
    // Each message fails twice: once through the delay queue, then into the dead letters.
    await publishRabbit('fragile', [{ run: 'fragile', i: 0, fail: true }]);
    await deadLettered(1);
    // Deleted under both replicas, which have each declared them before.
    await channel.deleteQueue('fragile.roost-retry.1000ms');
    await channel.deleteQueue('fragile-dead');
    await publishRabbit(
      'fragile',
      [1, 2, 3].map((i) => ({ run: 'fragile', i, fail: true })),
    );
    await deadLettered(4);
    const dead = await drainRabbit('fragile-dead');
    expect(dead.map((m) => (JSON.parse(m.content.toString()) as { i: number }).i).sort()).toEqual([
      1, 2, 3,
    ]);
    expect((await channel.checkQueue('fragile.roost-retry.1000ms')).messageCount).toBe(0);
    await channel.close();
    await eventually(async () => (await getTrigger('rmq-fragile')).status?.lag === 0, {
      what: 'lag 0, the trigger Ready',
    });
  }, 90_000);

  test('a queue that does not exist says QueueNotFound and recovers when it appears', async () => {
    await createTrigger('rmq-later', {
      source: { rabbitmq: { connectionSecretRef: { name: 'rabbit', key: 'url' }, queue: 'later' } },
    });
    const waiting = await waitReady('rmq-later', 'False', 'QueueNotFound');
    expect(waiting.status?.conditions?.[0]?.message).toContain('later');
    const channel = await amqpConnection.createChannel();
    await channel.assertQueue('later', { durable: true });
    await channel.close();
    await waitReady('rmq-later');
    await publishRabbit('later', [{ run: 'later', i: 1 }]);
    await eventually(() => handled('later').includes(1), { what: 'the message to run' });
  }, 60_000);

  test('an unreachable broker says BrokerUnreachable, recovers, and no credential is ever printed', async () => {
    await client.create(Secrets, {
      metadata: { name: 'rabbit-wrong', namespace, labels: CREDENTIALS },
      stringData: { url: `amqp://roost:${PASSWORD}@127.0.0.1:1/` },
    });
    await createTrigger('rmq-down', {
      source: {
        rabbitmq: { connectionSecretRef: { name: 'rabbit-wrong', key: 'url' }, queue: 'down' },
      },
    });
    const down = await waitReady('rmq-down', 'False', 'BrokerUnreachable');
    expect(down.status?.lastError?.message).toMatch(/Cannot reach the RabbitMQ broker/);
    await eventually(
      async () =>
        (
          await client.list(Events, { namespace, fieldSelector: 'involvedObject.name=rmq-down' })
        ).items.some((e) => e.reason === 'BrokerUnreachable' && e.type === 'Warning'),
      { what: 'a BrokerUnreachable Event on the trigger' },
    );

    // A key that is no URL is refused without quoting it.
    await client.create(Secrets, {
      metadata: { name: 'rabbit-garbage', namespace, labels: CREDENTIALS },
      stringData: { url: `not a url ${PASSWORD}` },
    });
    await createTrigger('rmq-garbage', {
      source: {
        rabbitmq: { connectionSecretRef: { name: 'rabbit-garbage', key: 'url' }, queue: 'down' },
      },
    });
    const garbage = await waitReady('rmq-garbage', 'False', 'InvalidSecret');
    expect(garbage.status?.conditions?.[0]?.message).toMatch(
      /does not hold a amqp:\/\/ or amqps:\/\/ URL/,
    );

    // The broker "appears": the Secret now names the real one.
    const channel = await amqpConnection.createChannel();
    await channel.assertQueue('down', { durable: true });
    await channel.close();
    const secret = await client.get(Secrets, { namespace, name: 'rabbit-wrong' });
    await client.replace(Secrets, { ...secret, data: undefined, stringData: { url: rabbit.url } });
    await waitReady('rmq-down');
    await eventually(
      async () =>
        (
          await client.list(Events, { namespace, fieldSelector: 'involvedObject.name=rmq-down' })
        ).items.some((e) => e.reason === 'Consuming'),
      { what: 'a Consuming Event once it recovered' },
    );

    const everything = JSON.stringify([
      await client.list(QueueTriggers, { namespace }),
      await client.list(Events, { namespace }),
    ]);
    expect(everything).not.toContain(PASSWORD);
    for (const r of replicas) expect(r.log()).not.toContain(PASSWORD);
    expect(everything).not.toContain('guest:guest');
  }, 90_000);

  test('a Secret is read in the trigger’s own namespace only', async () => {
    const other = await createNamespace(client, 'queuet-other');
    await client.create(Secrets, {
      metadata: { name: 'elsewhere', namespace: other, labels: CREDENTIALS },
      stringData: { url: rabbit.url },
    });
    await createTrigger('rmq-elsewhere', {
      source: {
        rabbitmq: {
          // The field does not exist: the API server drops it.
          connectionSecretRef: { name: 'elsewhere', key: 'url', namespace: other } as never,
          queue: 'orders',
        },
      },
    });
    const t = await waitReady('rmq-elsewhere', 'False', 'SecretNotFound');
    expect(t.spec.source.rabbitmq?.connectionSecretRef).toEqual({ name: 'elsewhere', key: 'url' });
    expect(t.status?.conditions?.[0]?.message).toBe(
      `No Secret elsewhere in namespace ${namespace}`,
    );
  }, 60_000);
});

describe('a function at zero', () => {
  test('scales up when messages wait, and handles them', async () => {
    await deployNodeFunction(client, {
      namespace,
      name: 'sleepy',
      source: WORK,
      replicas: 0,
      env: { SINK: sink.url },
      spec: { autoscaling: { minReplicas: 0, maxReplicas: 2 } },
    });
    const channel = await amqpConnection.createChannel();
    await channel.assertQueue('wake', { durable: true });
    await channel.close();
    await publishRabbit(
      'wake',
      Array.from({ length: 100 }, (_, i) => ({ run: 'wake', i })),
    );
    await createTrigger('rmq-wake', {
      source: { rabbitmq: { connectionSecretRef: { name: 'rabbit', key: 'url' }, queue: 'wake' } },
      target: { name: 'sleepy' },
    });
    await eventually(
      async () =>
        ((await client.get(SandboxDeployments, { namespace, name: 'sleepy' })).spec.replicas ?? 0) >
        0,
      { what: 'sleepy to scale up from zero', timeoutMs: 30_000 },
    );
    await eventually(() => new Set(handled('wake')).size === 100, {
      what: 'all 100 handled',
      timeoutMs: 60_000,
    });
    const t = await eventually(
      async () => {
        const t = await getTrigger('rmq-wake');
        return t.status?.delivered === 100 && t.status.lag === 0 ? t : undefined;
      },
      { what: '100 delivered, lag 0' },
    );
    expect(t.status?.deadLettered ?? 0).toBe(0);
  }, 90_000);
});

describe('NATS JetStream', () => {
  test('1,000 messages: every success runs once, every failure is dead-lettered after its retries, counts exact', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    await jsm.streams.add({
      name: 'ORDERS_DEAD',
      subjects: ['dead.orders'],
      retention: RetentionPolicy.Limits,
    });
    await createTrigger('nats-orders', {
      source: { nats: { stream: 'ORDERS', subject: 'orders.>', durable: 'work' } },
      batchSize: 10,
      maxConcurrency: 4,
      maxRetries: 2,
      retryDelaySeconds: 1,
      deadLetter: { subject: 'dead.orders' },
    });
    await waitReady('nats-orders');
    const js = jetstream(nc);
    const started = Date.now();
    await Promise.all(
      messages('nats', 1000).map((m) => js.publish(`orders.new`, JSON.stringify(m))),
    );
    const done = await eventually(
      async () => {
        const t = await getTrigger('nats-orders');
        return t.status?.delivered === 900 && t.status?.deadLettered === 100 ? t : undefined;
      },
      { what: '900 delivered and 100 dead-lettered', timeoutMs: 90_000, intervalMs: 250 },
    );
    console.log(`NATS: 1,000 messages settled in ${Date.now() - started} ms`);
    expect(done.status).toMatchObject({ delivered: 900, failed: 400, deadLettered: 100 });
    expectExactRun('nats', 1000);
    const dead = await jsm.streams.info('ORDERS_DEAD');
    expect(dead.state.messages).toBe(100);
    const first = await jsm.streams.getMessage('ORDERS_DEAD', { seq: 1 });
    expect((JSON.parse(new TextDecoder().decode(first!.data)) as { i: number }).i % 10).toBe(0);
    expect(first!.header.get('Roost-Tries')).toBe('3');
    await eventually(async () => (await getTrigger('nats-orders')).status?.lag === 0, {
      what: 'lag 0',
    });
  }, 120_000);

  test('a replica SIGKILLed mid-batch loses nothing', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'SLOW', subjects: ['slow'] });
    await createTrigger('nats-slow', {
      source: { nats: { stream: 'SLOW', durable: 'slow' } },
      batchSize: 5,
      maxConcurrency: 2,
    });
    await waitReady('nats-slow');
    const js = jetstream(nc);
    await killReplicaMidBatch('nats-slow', async (bodies) => {
      for (const body of bodies) await js.publish('slow', JSON.stringify(body));
    });
  }, 90_000);

  test('a stream that does not exist says QueueNotFound and recovers when it appears', async () => {
    await createTrigger('nats-later', {
      source: { nats: { stream: 'LATER', durable: 'work' } },
    });
    await waitReady('nats-later', 'False', 'QueueNotFound');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LATER', subjects: ['later'] });
    await waitReady('nats-later');
    await jetstream(nc).publish('later', JSON.stringify({ run: 'nats-later', i: 7 }));
    await eventually(() => handled('nats-later').includes(7), { what: 'the message to run' });
  }, 60_000);

  test("Roost's own streams cannot be a trigger's source", async () => {
    const refused = await createTrigger('nats-steal', {
      source: { nats: { stream: 'ROOST_EVENTS', durable: 'steal' } },
    }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).message).toMatch(/ROOST_ streams of Roost's own queue server/);
  });
});

describe('examples/queue-triggers', () => {
  test('the trigger manifests are accepted as written, and wait for their function', async () => {
    for (const file of ['rabbitmq-trigger.yaml', 'nats-trigger.yaml']) {
      const manifest = parse(
        readFileSync(join(import.meta.dirname, '..', 'examples', 'queue-triggers', file), 'utf8'),
      ) as QueueTrigger;
      await client.create(QueueTriggers, {
        ...manifest,
        metadata: { ...manifest.metadata, namespace },
      });
      const t = await waitReady(manifest.metadata.name!, 'False', 'TargetNotFound');
      expect(t.status?.conditions?.[0]?.message).toContain('process-order');
    }
  });
});
