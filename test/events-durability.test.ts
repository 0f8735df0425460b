// Asynchronous invocations survive a gateway's death: 200 events queued to a
// slow function, the gateway that holds some of them SIGKILLed and started
// again, and every event runs (at least once, with its request id). A
// function that always fails is tried exactly 1 + maxRetries times per event,
// then each event is in the dead-letter stream, listed by `roost events
// dead-letters`; `roost events replay` runs them again with the same ids.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SandboxDeployment } from '../kube/api/roost.ts';
import type { ManagedProcess } from '../lib/process.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { deployNodeFunction } from './support/deployments.ts';
import { startEventSink, type EventSink } from './support/event-sink.ts';
import { roost, systemEnv } from './support/roost-cli.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;
let sink: EventSink;

/** Short, so that a dead gateway's events move on within the test's time. */
const ACK_WAIT = '--events-ack-wait=2s';

const deploy = (name: string, source: string, spec: Partial<SandboxDeployment['spec']> = {}) =>
  deployNodeFunction(client, {
    namespace,
    name,
    source,
    spec,
    replicas: 2,
    env: { SINK: sink.url },
  });

beforeAll(async () => {
  sink = await startEventSink();
  namespace = await createNamespace(client, 'events');
  system = await startRoostSystem({ namespace, gatewayArgs: [ACK_WAIT] });
  await deploy(
    'slow',
    `export const handler = async (event, context) => {
      await new Promise((r) => setTimeout(r, 100));
      await fetch(process.env.SINK + '/slow', { method: 'POST', body: JSON.stringify({ n: event.n, requestId: context.awsRequestId }) });
      return 'done';
    };`,
  );
  await deploy(
    'always-fails',
    `export const handler = async (event, context) => {
      await fetch(process.env.SINK + '/fails', { method: 'POST', body: JSON.stringify({ n: event.n, requestId: context.awsRequestId }) });
      throw new Error('failing on purpose: ' + event.n);
    };`,
    { async: { maxRetries: 2, retryDelaySeconds: 1, onFailure: { function: { name: 'audit' } } } },
  );
  // The onFailure destination: it gets Lambda's record of each event that failed for good.
  await deploy(
    'audit',
    `export const handler = async (record) => {
      await fetch(process.env.SINK + '/audit', { method: 'POST', body: JSON.stringify(record) });
    };`,
  );
}, 150_000);

afterAll(async () => {
  await system?.stop();
  await sink?.stop();
});

async function queueEvent(gateway: string, name: string, event: unknown): Promise<string> {
  const response = await fetch(
    `${gateway}/2015-03-31/functions/${namespace}:function:${name}/invocations`,
    { method: 'POST', headers: { 'x-amz-invocation-type': 'Event' }, body: JSON.stringify(event) },
  );
  expect(response.status).toBe(202);
  return response.headers.get('x-amzn-requestid')!;
}

const ns = (records: { body: string }[]) =>
  new Set(records.map((r) => (JSON.parse(r.body) as { n: number }).n));

test('200 events, the gateway holding some SIGKILLed and started again: every event runs', async () => {
  // A second gateway, this test's own, that it kills outright.
  let victim: { url: string; process: ManagedProcess } = await system.startGateway([ACK_WAIT]);
  const ids = new Map<number, string>();
  for (let n = 0; n < 200; n++) ids.set(n, await queueEvent(victim.url, 'slow', { n }));

  // Kill it while events are running (the function takes 100 ms, 8 at once).
  await eventually(() => sink.of('slow').length >= 20, { what: 'the first events to run' });
  victim.process.kill('SIGKILL');
  await victim.process.exited;
  const ranBeforeKill = sink.of('slow').length;
  expect(ranBeforeKill).toBeLessThan(200);
  victim = await system.startGateway([ACK_WAIT]);

  await eventually(() => ns(sink.of('slow')).size === 200, {
    what: 'all 200 events to run',
    timeoutMs: 90_000,
    intervalMs: 250,
  });
  // Each ran with the request id it was accepted under (at least once: a
  // redelivered event may have run twice, never under another id).
  for (const record of sink.of('slow')) {
    const { n, requestId } = JSON.parse(record.body) as { n: number; requestId: string };
    expect(requestId).toBe(ids.get(n));
  }
  const duplicates = sink.of('slow').length - 200;
  console.log(
    `events: 200 distinct ran; ${duplicates} ran twice after the SIGKILL (at least once)`,
  );
  await victim.process.stop();
}, 150_000);

test('a function that always fails: 1 + maxRetries tries per event, then each in the dead letters; a replay runs them again', async () => {
  const ids = new Set<string>();
  for (let n = 0; n < 20; n++) ids.add(await queueEvent(system.gateway.url, 'always-fails', { n }));

  const env = systemEnv(system);
  const listed = await eventually(
    async () => {
      const result = await roost(
        ['events', 'dead-letters', 'always-fails', '-n', namespace, '-o', 'json'],
        { env },
      );
      const letters = JSON.parse(result.stdout || '[]') as {
        requestId: string;
        reason: string;
        attempts: number;
      }[];
      return letters.length >= 20 ? letters : undefined;
    },
    { what: '20 dead letters', timeoutMs: 60_000, intervalMs: 500 },
  );
  // Counted exactly: 20 events, 3 tries each, 20 dead letters, no more.
  await new Promise((r) => setTimeout(r, 1500));
  expect(sink.of('fails').length).toBe(60);
  expect(listed).toHaveLength(20);
  expect(new Set(listed.map((l) => l.requestId))).toEqual(ids);
  expect(listed.every((l) => l.reason === 'RetriesExhausted' && l.attempts === 2)).toBe(true);

  // Each also reached the onFailure function, as Lambda's destination record.
  await eventually(() => sink.of('audit').length >= 20, { what: '20 onFailure records' });
  const records = sink.of('audit').map(
    (r) =>
      JSON.parse(r.body) as {
        requestContext: { requestId: string; condition: string; approximateInvokeCount: number };
        requestPayload: { n: number };
        responsePayload: { errorMessage: string };
      },
  );
  expect(new Set(records.map((r) => r.requestContext.requestId))).toEqual(ids);
  expect(records.every((r) => r.requestContext.condition === 'RetriesExhausted')).toBe(true);
  expect(records.every((r) => r.requestContext.approximateInvokeCount === 3)).toBe(true);
  expect(records[0]!.responsePayload.errorMessage).toBe(
    `failing on purpose: ${records[0]!.requestPayload.n}`,
  );

  const table = await roost(['events', 'dead-letters', 'always-fails', '-n', namespace], { env });
  expect(table.stdout).toMatch(/^ID\s+REQUEST ID\s+REASON\s+ATTEMPTS\s+FAILED\s+MESSAGE/);
  expect(table.stdout).toContain('failing on purpose');

  const replayed = await roost(['events', 'replay', 'always-fails', '-n', namespace], { env });
  expect(replayed.code, replayed.stderr).toBe(0);
  expect(replayed.stderr).toContain(`20 events of ${namespace}/always-fails sent again`);
  // Run again, under the same request ids, and back in the dead letters after their tries.
  await eventually(() => sink.of('fails').length >= 120, {
    what: 'the replayed events to run again',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  const tries = new Map<string, number>();
  for (const record of sink.of('fails')) {
    const { requestId } = JSON.parse(record.body) as { requestId: string };
    tries.set(requestId, (tries.get(requestId) ?? 0) + 1);
  }
  expect([...tries.keys()].sort()).toEqual([...ids].sort());
  expect([...tries.values()].every((count) => count === 6)).toBe(true);
  await eventually(
    async () => {
      const result = await roost(
        ['events', 'dead-letters', 'always-fails', '-n', namespace, '-o', 'json'],
        { env },
      );
      return (JSON.parse(result.stdout || '[]') as unknown[]).length === 20;
    },
    { what: 'the 20 to be dead letters again', timeoutMs: 30_000, intervalMs: 500 },
  );
}, 150_000);

test('a function cannot use the queue: without the invoke token, the broker refuses it', async () => {
  // Functions may open network connections; this one tries the broker's port.
  await deploy(
    'snoop',
    `import { connect } from 'node:net';
    export const handler = async (event) => new Promise((resolve) => {
      const socket = connect(event.port, '127.0.0.1');
      let said = '';
      const done = () => { socket.destroy(); resolve(said); };
      socket.on('connect', () => socket.write('CONNECT {"verbose":true}\\r\\nSUB roost.> 1\\r\\n'));
      socket.on('data', (d) => { said += d; if (said.includes('-ERR') || said.includes('+OK')) done(); });
      socket.on('error', (e) => { said += 'error ' + e.message; done(); });
      setTimeout(done, 3000);
    });`,
  );
  const port = Number(new URL(system.nats.url).port);
  const response = await fetch(
    `${system.gateway.url}/2015-03-31/functions/${namespace}:function:snoop/invocations`,
    { method: 'POST', body: JSON.stringify({ port }) },
  );
  const said = (await response.json()) as string;
  expect(said).toContain('Authorization Violation');
  expect(said).not.toContain('+OK');
});
