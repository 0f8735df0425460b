// npm run bench:queue — messages through queue triggers against a bare
// consumer of the same broker, in one run, for RabbitMQ and NATS JetStream:
//
//   throughput: COUNT messages published at once into a queue a warmed-up
//     QueueTrigger consumes (batches of BATCH, MAX_CONCURRENCY at once, one
//     roost triggers replica as roost dev runs it), into a function that
//     only reports its batch's size, from the first publish to the last
//     message handled; and COUNT messages already waiting, taken by a bare
//     consumer with the same prefetch that acknowledges each without
//     invoking anything (the upper bound of the broker and its client);
//   latency: SAMPLES messages one at a time, from the publish to the
//     function's start (the function reports Date.now() on entry).
//
// The function reports to a small HTTP server in this process; one report
// per batch.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import amqp from 'amqplib';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { QueueTriggers, SandboxDeployments, Secrets } from '../kube/api/resources.ts';
import type { QueueTrigger } from '../kube/api/roost.ts';
import { QUEUE_CREDENTIALS_LABEL } from '../kube/well-known.ts';
import { startRabbitMQ } from '../testenv/rabbitmq.ts';
import { startBenchSystem, waitAvailable } from './support/system.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const COUNT = Number(process.env.COUNT ?? 5000);
const SAMPLES = Number(process.env.SAMPLES ?? 100);
const BATCH = Number(process.env.BATCH ?? 10);
const WARMUP = 500;
const MAX_CONCURRENCY = Number(process.env.MAX_CONCURRENCY ?? 8);
const namespace = 'default';

/** Messages the function reported, and the start times of latency probes by id. */
let delivered = 0;
let batches = 0;
let lastDeliveredAt = 0;
const startedAt = new Map<string, number>();
let wake: (() => void) | undefined;
const sink = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const report = JSON.parse(Buffer.concat(chunks).toString()) as {
      count: number;
      at: number;
      probes: string[];
    };
    delivered += report.count;
    batches++;
    lastDeliveredAt = Date.now();
    for (const id of report.probes) startedAt.set(id, report.at);
    wake?.();
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const FUNCTION = `export const handler = async (event) => {
  const at = Date.now();
  const bodies = event.Records
    ? event.Records.map((r) => r.data)
    : Object.values(event.rmqMessagesByQueue)[0].map((m) => m.data);
  const probes = bodies
    .map((b) => JSON.parse(Buffer.from(b, 'base64').toString()))
    .filter((m) => m.probe)
    .map((m) => m.probe);
  await fetch(process.env.SINK, { method: 'POST', body: JSON.stringify({ count: bodies.length, at, probes }) });
  return {};
};`;

const until = async (check: () => boolean, what: string, timeoutMs = 300_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench:queue: timed out waiting for ${what}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 50);
    });
  }
};

console.error(
  `bench:queue: ${COUNT} messages per broker (batches of ${BATCH}, ${MAX_CONCURRENCY} at once), then ${SAMPLES} one at a time; starting Roost and RabbitMQ`,
);
const [system, rabbit] = await Promise.all([startBenchSystem({ hosts: 1 }), startRabbitMQ()]);
const natsUrl = system.roost.state.components.find((c) => c.name === 'nats-server')!.address;
const amqpConnection = await amqp.connect(rabbit.url);
const nc = await connect({ servers: natsUrl, token: system.token });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const body = (i: number) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(64) }));

try {
  await system.client.create(SandboxDeployments, {
    metadata: { name: 'noop', namespace },
    spec: {
      replicas: 1,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            concurrency: 64,
            env: [{ name: 'SINK', value: sinkUrl }],
            code: { inline: { files: { 'index.mjs': FUNCTION } } },
          },
        },
      },
    },
  });
  await system.client.create(Secrets, {
    metadata: { name: 'rabbit', namespace, labels: { [QUEUE_CREDENTIALS_LABEL]: 'true' } },
    stringData: { url: rabbit.url },
  });
  await waitAvailable(system.client, namespace, 'noop', 1);
  const channel = await amqpConnection.createConfirmChannel();
  for (const q of ['bare', 'fed', 'probe']) await channel.assertQueue(q, { durable: true });
  for (const s of ['BARE', 'FED', 'PROBE'])
    await jsm.streams.add({ name: s, subjects: [s.toLowerCase()] });

  const publishRabbit = async (queue: string, count: number) => {
    for (let i = 0; i < count; i++) channel.sendToQueue(queue, body(i), { persistent: true });
    await channel.waitForConfirms();
  };
  const publishNats = async (subject: string, count: number) => {
    for (let i = 0; i < count; i += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, count - i) }, (_, k) =>
          js.publish(subject, body(i + k)),
        ),
      );
  };
  const createTrigger = (name: string, source: QueueTrigger['spec']['source']) =>
    system.client.create(QueueTriggers, {
      metadata: { name, namespace },
      spec: { source, target: { name: 'noop' }, batchSize: BATCH, maxConcurrency: MAX_CONCURRENCY },
    });
  const sources: Record<string, (queue: string) => QueueTrigger['spec']['source']> = {
    RabbitMQ: (queue) => ({
      rabbitmq: { connectionSecretRef: { name: 'rabbit', key: 'url' }, queue },
    }),
    'NATS JetStream': (queue) => ({
      nats: { stream: queue.toUpperCase(), subject: queue, durable: `${queue}-trigger` },
    }),
  };

  // The lower bound: consume and ack, nothing else, with the trigger's prefetch.
  const bareRabbit = async (): Promise<number> => {
    const consumer = await amqpConnection.createChannel();
    await consumer.prefetch(BATCH * MAX_CONCURRENCY);
    let seen = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const started = Date.now();
    await consumer.consume('bare', (m) => {
      if (!m) return;
      consumer.ack(m);
      if (++seen === COUNT) done();
    });
    await finished;
    const elapsed = Date.now() - started;
    await consumer.close();
    return elapsed;
  };
  const bareNats = async (): Promise<number> => {
    await jsm.consumers.add('BARE', { durable_name: 'bare', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get('BARE', 'bare');
    const started = Date.now();
    const messages = await consumer.consume({ max_messages: BATCH * MAX_CONCURRENCY });
    let seen = 0;
    for await (const m of messages) {
      m.ack();
      if (++seen === COUNT) break;
    }
    const elapsed = Date.now() - started;
    await messages.close();
    return elapsed;
  };

  const rows: string[][] = [];
  const latencies: string[][] = [];
  for (const [broker, source] of Object.entries(sources)) {
    const rabbitmq = broker === 'RabbitMQ';
    console.error(`  ${broker}: bare consumer`);
    await (rabbitmq ? publishRabbit('bare', COUNT) : publishNats('bare', COUNT));
    const bareMs = await (rabbitmq ? bareRabbit() : bareNats());

    console.error(`  ${broker}: through a QueueTrigger (warm-up, then ${COUNT})`);
    await createTrigger(`${rabbitmq ? 'rmq' : 'nats'}-fed`, source('fed'));
    const publishFed = (count: number) =>
      rabbitmq ? publishRabbit('fed', count) : publishNats('fed', count);
    delivered = 0;
    await publishFed(WARMUP);
    await until(() => delivered >= WARMUP, `${WARMUP} warm-up messages through ${broker}`);
    delivered = 0;
    batches = 0;
    // From the first publish to the last message handled: the trigger consumes
    // while the backlog is published, and the function path is the bottleneck.
    const fedStarted = Date.now();
    await publishFed(COUNT);
    await until(() => delivered >= COUNT, `${COUNT} messages through ${broker}`);
    const fedMs = lastDeliveredAt - fedStarted;
    const bareRate = COUNT / (bareMs / 1000);
    const fedRate = COUNT / (fedMs / 1000);
    rows.push(
      [broker, 'bare consumer, ack only', bareRate.toFixed(0), '1.00', '-'],
      [
        broker,
        'QueueTrigger → no-op function',
        fedRate.toFixed(0),
        (fedRate / bareRate).toFixed(2),
        (COUNT / batches).toFixed(1),
      ],
    );

    console.error(`  ${broker}: latency, one at a time`);
    await createTrigger(`${rabbitmq ? 'rmq' : 'nats'}-probe`, source('probe'));
    const samples: number[] = [];
    for (let i = -10; i < SAMPLES; i++) {
      const id = `${broker}-${i}`;
      const payload = Buffer.from(JSON.stringify({ probe: id }));
      const sent = Date.now();
      if (rabbitmq) {
        channel.sendToQueue('probe', payload, { persistent: true });
        await channel.waitForConfirms();
      } else await js.publish('probe', payload);
      await until(() => startedAt.has(id), `probe ${id}`, 60_000);
      // The first ten wait for the trigger to connect and warm up.
      if (i >= 0) samples.push(startedAt.get(id)! - sent);
    }
    latencies.push([broker, ms(median(samples)), ms(percentile(samples, 99))]);
  }

  console.log(
    `\n## Queue triggers against a bare consumer (${COUNT} messages each, batches of ${BATCH}, ${MAX_CONCURRENCY} at once)\n`,
  );
  console.log(table(['broker', 'consumer', 'messages/s', 'ratio to bare', 'mean batch'], rows));
  console.log(`\n## Publish → function start, one message at a time (${SAMPLES} each)\n`);
  console.log(table(['broker', 'p50', 'p99'], latencies));
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; brokers, roost triggers, gateway, sidecar and function share it.`,
  );
} finally {
  await amqpConnection.close().catch(() => {});
  await nc.close().catch(() => {});
  await system.stop();
  await rabbit.stop();
  sink.close();
}
