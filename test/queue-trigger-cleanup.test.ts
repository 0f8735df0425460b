// What a QueueTrigger leaves in the user's broker, and what each roost
// triggers replica sees, against a real RabbitMQ and the real nats-server
// with two replicas:
//   - deleting a trigger removes exactly what Roost made (retry delay queues,
//     a durable consumer it created; a retry waiting in a delay queue goes
//     back to the queue) and keeps the user's own queue, stream, dead-letter
//     queue and a durable consumer the user made before;
//   - a trigger whose broker cannot be reached (its Secret is gone) is still
//     deleted within the cleanup bound, with a Warning Event naming what was
//     left behind;
//   - a changed source cleans the old one's objects; disabling keeps them;
//   - a follower that alone cannot reach the broker shows in status.replicas
//     and turns Ready False with its name, until it goes.
import { AckPolicy } from '@nats-io/jetstream';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import { Events, QueueTriggers, Secrets } from '../kube/api/resources.ts';
import { isNotFound } from '../kube/errors.ts';
import { QUEUE_TRIGGER_FINALIZER } from '../kube/well-known.ts';
import { freePort } from '../lib/ports.ts';
import { eventually } from './support/cluster.ts';
import { CREDENTIALS, TRIGGERS_ARGS, useQueueTriggerEnv } from './support/queue-triggers.ts';
import { startTriggers } from './support/triggers-process.ts';

const env = useQueueTriggerEnv();
const { client, createTrigger, getTrigger, waitReady } = env;

/** Resolves once the trigger is gone from the API server; how long that took. */
async function deleteAndWaitGone(name: string): Promise<number> {
  const started = Date.now();
  await client.delete(QueueTriggers, { namespace: env.namespace, name });
  await eventually(
    async () => {
      try {
        await getTrigger(name);
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    },
    { what: `${name} to be gone`, timeoutMs: 30_000, intervalMs: 100 },
  );
  return Date.now() - started;
}

async function eventsOf(name: string) {
  return (
    await client.list(Events, {
      namespace: env.namespace,
      fieldSelector: `involvedObject.name=${name}`,
    })
  ).items;
}

/** Whether a RabbitMQ queue exists, and how many messages it holds. */
async function rabbitQueue(name: string): Promise<number | undefined> {
  const channel = await env.amqpConnection.createChannel();
  channel.on('error', () => {});
  try {
    return (await channel.checkQueue(name)).messageCount;
  } catch {
    return undefined;
  } finally {
    await channel.close().catch(() => {});
  }
}

async function declareRabbitQueue(name: string) {
  const channel = await env.amqpConnection.createChannel();
  await channel.assertQueue(name, { durable: true });
  await channel.close();
}

/** A trigger whose one message fails and waits 60 s in the delay queue Roost made for it. */
async function triggerWithWaitingRetry(name: string, queue: string, secret = 'rabbit') {
  await declareRabbitQueue(queue);
  await createTrigger(name, {
    source: { rabbitmq: { connectionSecretRef: { name: secret, key: 'url' }, queue } },
    maxRetries: 1,
    retryDelaySeconds: 60,
    deadLetter: { queue: `${queue}-dead` },
  });
  await waitReady(name);
  await env.publishRabbit(queue, [{ run: name, i: 0, fail: true }]);
  const delayQueue = `${queue}.roost-retry.60000ms`;
  const t = await eventually(
    async () => {
      const t = await getTrigger(name);
      return t.status?.failed === 1 && (await rabbitQueue(delayQueue)) === 1 ? t : undefined;
    },
    { what: `the failed message of ${name} waiting in ${delayQueue}` },
  );
  return { trigger: t, delayQueue };
}

describe('deleting a QueueTrigger', () => {
  test('RabbitMQ: removes the delay queues Roost made, puts their waiting retry back, keeps the queue and dead-letter queue', async () => {
    const { trigger, delayQueue } = await triggerWithWaitingRetry('rmq-tidy', 'tidy');
    expect(trigger.metadata.finalizers).toContain(QUEUE_TRIGGER_FINALIZER);
    expect(trigger.status?.created).toEqual([
      { source: trigger.spec.source, queues: [delayQueue] },
    ]);

    // An entry forged by someone who may write the status names the user's
    // own queues: they are not Roost's names, so they are kept.
    await client.patch(
      QueueTriggers,
      { namespace: env.namespace, name: 'rmq-tidy' },
      {
        status: {
          created: [{ source: trigger.spec.source, queues: [delayQueue, 'tidy', 'tidy-dead'] }],
        },
      },
      { subresource: 'status' },
    );
    await deleteAndWaitGone('rmq-tidy');
    expect(await rabbitQueue(delayQueue)).toBeUndefined();
    // The retry that waited is back in the user's queue, with its tries.
    expect(await rabbitQueue('tidy')).toBe(1);
    const [back] = await env.drainRabbit('tidy');
    expect(JSON.parse(back!.content.toString())).toEqual({ run: 'rmq-tidy', i: 0, fail: true });
    expect(back!.properties.headers?.['x-roost-failed-tries']).toBe(1);
    expect(await rabbitQueue('tidy-dead')).toBe(0);
    const cleaned = await eventually(
      async () => (await eventsOf('rmq-tidy')).find((e) => e.reason === 'BrokerCleanedUp'),
      { what: 'a BrokerCleanedUp Event' },
    );
    expect(cleaned.message).toBe(`Removed from the broker: queue ${delayQueue}`);
  }, 60_000);

  test('NATS: removes the durable consumer Roost created, keeps one the user made and the stream', async () => {
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.add({ name: 'TIDY', subjects: ['tidy.>'] });
    await jsm.consumers.add('TIDY', { durable_name: 'mine', ack_policy: AckPolicy.Explicit });
    await createTrigger('nats-mine', { source: { nats: { stream: 'TIDY', durable: 'mine' } } });
    await createTrigger('nats-made', { source: { nats: { stream: 'TIDY', durable: 'made' } } });
    await waitReady('nats-mine');
    const made = await waitReady('nats-made');
    expect(made.status?.created).toEqual([{ source: made.spec.source, consumer: 'made' }]);
    expect((await getTrigger('nats-mine')).status?.created).toBeUndefined();

    await deleteAndWaitGone('nats-made');
    await deleteAndWaitGone('nats-mine');
    const consumers = (await jsm.consumers.list('TIDY').next()).map((c) => c.name);
    expect(consumers).toEqual(['mine']);
    expect((await jsm.streams.info('TIDY')).config.name).toBe('TIDY');
  }, 60_000);

  test('with its broker unreachable (the Secret is gone), it goes within the bound, with a Warning naming what was left', async () => {
    await client.create(Secrets, {
      metadata: { name: 'rabbit-short-lived', namespace: env.namespace, labels: CREDENTIALS },
      stringData: { url: env.rabbit.url },
    });
    const { delayQueue } = await triggerWithWaitingRetry(
      'rmq-orphan',
      'orphan',
      'rabbit-short-lived',
    );
    await client.delete(Secrets, { namespace: env.namespace, name: 'rabbit-short-lived' });

    const took = await deleteAndWaitGone('rmq-orphan');
    // --cleanup-timeout=6s, plus the back-off's last wait and a status interval.
    expect(took).toBeGreaterThanOrEqual(5_000);
    expect(took).toBeLessThan(15_000);
    const warning = await eventually(
      async () => (await eventsOf('rmq-orphan')).find((e) => e.reason === 'BrokerCleanupAbandoned'),
      { what: 'a BrokerCleanupAbandoned Event' },
    );
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(
      new RegExp(
        `^Left in the broker after 6s of trying: queue ${delayQueue.replace(/\./g, '\\.')} \\(No Secret rabbit-short-lived`,
      ),
    );
    // Left behind, as the Event says; the user removes it.
    expect(await rabbitQueue(delayQueue)).toBe(1);
  }, 60_000);
});

describe('changing a QueueTrigger', () => {
  test('a new durable removes the old consumer Roost made; disabling keeps the new one', async () => {
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.add({ name: 'MOVING', subjects: ['moving'] });
    await createTrigger('nats-moving', { source: { nats: { stream: 'MOVING', durable: 'one' } } });
    await waitReady('nats-moving');
    const names = async () => (await jsm.consumers.list('MOVING').next()).map((c) => c.name).sort();
    expect(await names()).toEqual(['one']);

    const t = await getTrigger('nats-moving');
    await client.replace(QueueTriggers, {
      ...t,
      spec: { ...t.spec, source: { nats: { stream: 'MOVING', durable: 'two' } } },
    });
    await eventually(async () => (await names()).join() === 'two', {
      what: 'consumer one removed, two created',
    });
    const moved = await eventually(
      async () => {
        const t = await getTrigger('nats-moving');
        return t.status?.created?.length === 1 && t.status.created[0]!.consumer === 'two'
          ? t
          : undefined;
      },
      { what: 'status.created to list only consumer two' },
    );
    expect(moved.status?.created?.[0]?.source).toEqual(moved.spec.source);

    await client.replace(QueueTriggers, { ...moved, spec: { ...moved.spec, enabled: false } });
    await waitReady('nats-moving', 'False', 'Disabled');
    // Disabled is not gone: what Roost made stays, ready for when it is enabled again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await names()).toEqual(['two']);
    expect((await getTrigger('nats-moving')).status?.created?.[0]?.consumer).toBe('two');
  }, 60_000);
});

describe('each replica’s view', () => {
  test('a follower that alone cannot reach the broker shows in status.replicas and in Ready, until it goes', async () => {
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.add({ name: 'SEEN', subjects: ['seen'] });
    await createTrigger('nats-seen', { source: { nats: { stream: 'SEEN', durable: 'seen' } } });
    await waitReady('nats-seen');

    // A third replica whose own NATS URL leads nowhere (a port nothing listens on).
    const lost = startTriggers(env.system, {
      identity: 'triggers-lost',
      extraArgs: [...TRIGGERS_ARGS, `--events-url=nats://127.0.0.1:${await freePort()}`],
    });
    try {
      await lost.ready;
      const degraded = await waitReady('nats-seen', 'False', 'BrokerUnreachable');
      expect(degraded.status?.conditions?.[0]?.message).toMatch(
        /^replica triggers-lost: Cannot reach the NATS server.*\(2 of 3 replicas consuming\)$/,
      );
      const byName = Object.fromEntries((degraded.status?.replicas ?? []).map((r) => [r.name, r]));
      expect(byName['triggers-lost']).toMatchObject({
        consuming: false,
        reason: 'BrokerUnreachable',
      });
      expect(env.replicas.every((r) => byName[r.identity]?.consuming === true)).toBe(true);
      await eventually(
        async () =>
          (await eventsOf('nats-seen')).some(
            (e) => e.type === 'Warning' && e.message?.startsWith('replica triggers-lost:'),
          ),
        { what: 'a Warning Event naming the follower' },
      );
    } finally {
      await lost.stop();
    }
    // Stopped, it takes its entry with it.
    const healed = await waitReady('nats-seen');
    expect(healed.status?.replicas?.map((r) => r.name).sort()).toEqual(
      env.replicas.map((r) => r.identity).sort(),
    );
  }, 90_000);
});
