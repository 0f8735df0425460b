// npm run bench:events — event invocations through the durable queue (NATS
// JetStream) against direct invocations of the same function, in one run:
//
//   throughput: COUNT invocations driven by CONCURRENCY callers, direct
//     (Invoke API RequestResponse, each waits for its result) and as events
//     (InvocationType Event, 202 once stored; counted until the last one has
//     started its function);
//   latency: SAMPLES invocations one at a time, each way, from the caller
//     sending to the function starting, and for events also from the 202
//     (the event accepted) to the function starting: what the queue adds.
//
// The function reports when it started to a small HTTP server in this
// process; the same report costs both ways alike.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { SandboxDeployments } from '../kube/api/resources.ts';
import { startBenchSystem, waitAvailable } from './support/system.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const COUNT = Number(process.env.COUNT ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const SAMPLES = Number(process.env.SAMPLES ?? 200);
const namespace = 'default';

/** When each invocation (by its id) started its function, Unix ms. */
const started = new Map<string, number>();
let onStart: (() => void) | undefined;
const sink = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const { id, at } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string; at: number };
    started.set(id, at);
    onStart?.();
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

console.error(
  `bench:events: ${COUNT} invocations each way with ${CONCURRENCY} callers, then ${SAMPLES} one at a time; starting Roost`,
);
const system = await startBenchSystem({ hosts: 1 });
try {
  await system.client.create(SandboxDeployments, {
    metadata: { name: 'recorder', namespace },
    spec: {
      replicas: 1,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            concurrency: 64,
            env: [{ name: 'SINK', value: sinkUrl }],
            code: {
              inline: {
                files: {
                  'index.mjs': `export const handler = async (event) => {
  const at = Date.now();
  await fetch(process.env.SINK, { method: 'POST', body: JSON.stringify({ id: event.id, at }) });
  return at;
};`,
                },
              },
            },
          },
        },
      },
    },
  });
  await waitAvailable(system.client, namespace, 'recorder', 1);
  const url = `${system.gatewayUrl}/2015-03-31/functions/${namespace}:function:recorder/invocations`;
  const invoke = async (id: string, type: 'RequestResponse' | 'Event') => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'x-amz-invocation-type': type },
      body: JSON.stringify({ id }),
    });
    await response.arrayBuffer();
    if (response.status !== (type === 'Event' ? 202 : 200))
      throw new Error(`${type} ${id}: HTTP ${response.status}`);
  };
  const waitStarted = async (ids: string[]) => {
    while (!ids.every((id) => started.has(id)))
      await new Promise<void>((resolve) => {
        onStart = resolve;
        setTimeout(resolve, 200);
      });
  };
  for (
    let i = 0;
    i < 100 &&
    !(await invoke(`warm-${i}`, 'RequestResponse').then(
      () => true,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));

  console.error('  warming up');
  await drive('warm-direct', 200, 'RequestResponse');
  const warmEvents = await drive('warm-event', 200, 'Event');
  await waitStarted(warmEvents.ids);

  console.error('  throughput: direct');
  const direct = await drive('direct', COUNT, 'RequestResponse');
  console.error('  throughput: events');
  const events = await drive('event', COUNT, 'Event');
  await waitStarted(events.ids);
  const eventsDoneAt = Math.max(...events.ids.map((id) => started.get(id)!));
  const directRate = COUNT / ((direct.endedAt - direct.startedAt) / 1000);
  const acceptRate = COUNT / ((events.endedAt - events.startedAt) / 1000);
  const eventRate = COUNT / ((eventsDoneAt - events.startedAt) / 1000);

  console.error('  latency: one at a time');
  const directLatency: number[] = [];
  const eventLatency: number[] = [];
  const acceptToStart: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const d = `lat-direct-${i}`;
    const sent = Date.now();
    await invoke(d, 'RequestResponse');
    directLatency.push(started.get(d)! - sent);
    const e = `lat-event-${i}`;
    const sentEvent = Date.now();
    await invoke(e, 'Event');
    const accepted = Date.now();
    await waitStarted([e]);
    eventLatency.push(started.get(e)! - sentEvent);
    acceptToStart.push(started.get(e)! - accepted);
  }

  console.log(
    `\n## Event invocations through the durable queue against direct invocations (${COUNT} each, ${CONCURRENCY} callers)\n`,
  );
  console.log(
    table(
      ['run', 'invocations/s', 'ratio to direct'],
      [
        ['direct (RequestResponse), until the last answered', directRate.toFixed(0), '1.00'],
        [
          'events (Event), until the last accepted (202)',
          acceptRate.toFixed(0),
          (acceptRate / directRate).toFixed(2),
        ],
        [
          'events (Event), until the last started its function',
          eventRate.toFixed(0),
          (eventRate / directRate).toFixed(2),
        ],
      ],
    ),
  );
  console.log(`\n## Latency, one invocation at a time (${SAMPLES} each)\n`);
  console.log(
    table(
      ['path', 'p50', 'p99'],
      [
        [
          'direct: sent → function started',
          ms(median(directLatency)),
          ms(percentile(directLatency, 99)),
        ],
        [
          'event: sent → function started',
          ms(median(eventLatency)),
          ms(percentile(eventLatency, 99)),
        ],
        [
          'event: accepted (202) → function started',
          ms(median(acceptToStart)),
          ms(percentile(acceptToStart, 99)),
        ],
        [
          'added by the queue (event − direct, sent → started)',
          ms(median(eventLatency) - median(directLatency)),
          ms(percentile(eventLatency, 99) - percentile(directLatency, 99)),
        ],
      ],
    ),
  );
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; callers, gateway, NATS, sidecar and function share it.`,
  );

  /** COUNT invocations by CONCURRENCY callers; when the first was sent and the last answered. */
  async function drive(prefix: string, count: number, type: 'RequestResponse' | 'Event') {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    let next = 0;
    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length) await invoke(ids[next++]!, type);
      }),
    );
    return { ids, startedAt, endedAt: Date.now() };
  }
} finally {
  await system.stop();
  sink.close();
}
