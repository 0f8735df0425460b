// The activator and the autoscaler with real processes: a function at zero
// takes a burst of first requests without losing or repeating one; a step of
// load scales up within seconds, back down after the stable window, and to
// zero after the grace period.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import { SandboxDeployments, Sandboxes } from '../kube/api/resources.ts';
import type { AutoscalingSpec } from '../kube/api/roost.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace(client, 'autoscale');
  system = await startRoostSystem({ namespace });
});

afterAll(async () => {
  await system?.stop();
});

async function deploy(name: string, source: string, autoscaling: AutoscalingSpec, concurrency = 1) {
  await client.create(SandboxDeployments, {
    metadata: { name, namespace },
    spec: {
      replicas: 0,
      autoscaling,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 32,
            concurrency,
            code: { inline: { files: { 'index.mjs': source } } },
          },
        },
      },
    },
  });
}

const replicas = async (name: string) =>
  (await client.get(SandboxDeployments, { namespace, name })).spec.replicas ?? 0;

test('a function at zero answers 50 concurrent first requests, none lost and none run twice', async () => {
  await deploy(
    'cold',
    `export const handler = async (e, c) => ({ id: c.awsRequestId });`,
    { minReplicas: 0, maxReplicas: 3, targetConcurrency: 10 },
    10,
  );
  await eventually(
    async () =>
      (await client.get(SandboxDeployments, { namespace, name: 'cold' })).status
        ?.observedGeneration === 1,
    { what: 'the controller to see it' },
  );
  expect(await replicas('cold')).toBe(0);

  const started = Date.now();
  const responses = await Promise.all(
    Array.from({ length: 50 }, () => fetch(system.functionUrl('cold'))),
  );
  const elapsed = Date.now() - started;
  expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
  const ids = await Promise.all(
    responses.map(async (r) => ((await r.json()) as { id: string }).id),
  );
  expect(new Set(ids).size).toBe(50);
  expect(ids.sort()).toEqual(responses.map((r) => r.headers.get('x-roost-request-id')).sort());
  expect(elapsed).toBeLessThan(15_000);

  // Every request ran exactly once: the Sandboxes counted 50 invocations in all.
  const sandboxes = (
    await client.list(Sandboxes, { namespace, labelSelector: 'roost.dev/deployment=cold' })
  ).items;
  let invocations = 0;
  for (const sandbox of sandboxes.filter((s) => s.status?.address)) {
    const sidecar = new SandboxHostConnection(sandbox.status!.address!, system.hosts.token);
    invocations += (
      await sidecar.stats({ namespace, sandbox: sandbox.metadata.name! })
    ).sandboxes.reduce((sum, s) => sum + s.invocations, 0);
    sidecar.close();
  }
  expect(invocations).toBe(50);
  const events = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    'involvedObject.name=cold',
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  expect(events.stdout).toContain('Activated');
});

test('a step from 1 to 40 clients scales up within 3 s, down after the stable window, and to zero after the grace', async () => {
  await deploy(
    'steps',
    `export const handler = async () => { await new Promise((r) => setTimeout(r, 100)); return 'ok'; };`,
    {
      minReplicas: 0,
      maxReplicas: 6,
      targetConcurrency: 1,
      stableWindowSeconds: 10,
      panicWindowSeconds: 2,
      scaleToZeroGraceSeconds: 4,
    },
  );
  let clients = 1;
  let running = true;
  // Status and error code of every request that failed, so that a failure says what it was.
  const failures: string[] = [];
  const worker = async (index: number) => {
    while (running) {
      if (index >= clients) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const response = await fetch(system.functionUrl('steps'));
      const body = await response.text();
      if (response.status !== 200) failures.push(`${response.status} ${body}`);
      // Half the time thinking: one client is 0.5 in flight, which one replica carries at 0.7 utilisation.
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const workers = Array.from({ length: 40 }, (_, i) => worker(i));
  try {
    await eventually(async () => (await replicas('steps')) >= 1, {
      what: 'a replica for one client',
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 3000));
    const beforeStep = await replicas('steps');
    expect(beforeStep).toBeLessThanOrEqual(2);

    const stepAt = Date.now();
    clients = 40;
    await eventually(async () => (await replicas('steps')) > beforeStep, {
      what: 'a scale-up',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(Date.now() - stepAt).toBeLessThan(3000);
    await eventually(async () => (await replicas('steps')) === 6, {
      what: 'maxReplicas under 40 clients',
      timeoutMs: 10_000,
    });

    clients = 1;
    const downFrom = Date.now();
    await eventually(async () => (await replicas('steps')) <= 2, {
      what: 'the scale-down',
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    // Not at once: the stable window has to see the lower load first.
    expect(Date.now() - downFrom).toBeGreaterThan(4000);
  } finally {
    clients = 0;
    running = false;
    await Promise.all(workers);
  }
  expect(failures).toEqual([]);
  await eventually(async () => (await replicas('steps')) === 0, {
    what: 'scale to zero after the grace period',
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  // The autoscaler writes each Event after its scale, so the last one may
  // arrive a moment after the replicas are seen at zero (seen on a busy run).
  const reasons = await eventually(
    async () => {
      const events = await kubectl([
        'get',
        'events',
        '-n',
        namespace,
        '--field-selector',
        'involvedObject.name=steps',
        '-o',
        'jsonpath={.items[*].reason}',
      ]);
      return events.stdout.includes('ScaledToZero') ? events.stdout : undefined;
    },
    { what: 'the ScaledToZero Event', timeoutMs: 10_000, intervalMs: 250 },
  );
  expect(reasons).toContain('ScaledUp');
  expect(reasons).toContain('ScaledDown');
  expect(reasons).toContain('ScaledToZero');
});

test('minReplicas are kept warm without traffic', async () => {
  await deploy('reserved', `export const handler = async () => 'warm';`, {
    minReplicas: 2,
    maxReplicas: 4,
    scaleToZeroGraceSeconds: 1,
  });
  await eventually(
    async () =>
      (await client.get(SandboxDeployments, { namespace, name: 'reserved' })).status
        ?.readyReplicas === 2,
    { what: 'two warm replicas', timeoutMs: 20_000 },
  );
  await new Promise((r) => setTimeout(r, 3000));
  expect(await replicas('reserved')).toBe(2);
});

test('a function at zero with queued events scales up, runs every one, and goes back to zero', async () => {
  await deploy(
    'queued',
    `export const handler = async (e) => { await new Promise((r) => setTimeout(r, 300)); return e.n; };`,
    {
      minReplicas: 0,
      maxReplicas: 3,
      targetConcurrency: 1,
      stableWindowSeconds: 6,
      panicWindowSeconds: 2,
      scaleToZeroGraceSeconds: 1,
    },
  );
  const EVENTS = 30;
  for (let n = 0; n < EVENTS; n++) {
    const response = await fetch(
      `${system.gateway.url}/2015-03-31/functions/${namespace}:function:queued/invocations`,
      {
        method: 'POST',
        headers: { 'x-amz-invocation-type': 'Event' },
        body: JSON.stringify({ n }),
      },
    );
    expect(response.status).toBe(202);
  }
  let most = 0;
  const succeeded = async () => {
    const text = await (
      await fetch(`${system.gateway.url}/metrics`, {
        headers: { authorization: `Bearer ${system.hosts.token}` },
      })
    ).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('roost_gateway_events_total{') &&
          l.includes(`namespace="${namespace}"`) &&
          l.includes('function="queued"') &&
          l.includes('outcome="succeeded"'),
      );
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  await eventually(
    async () => {
      most = Math.max(most, await replicas('queued'));
      return (await succeeded()) === EVENTS;
    },
    { what: `all ${EVENTS} events to run`, timeoutMs: 60_000, intervalMs: 200 },
  );
  // 30 events of 300 ms, one at a time per Sandbox: more than one Sandbox was asked for.
  expect(most).toBeGreaterThan(1);
  await eventually(async () => (await replicas('queued')) === 0, {
    what: 'back to zero once the queue is empty',
    timeoutMs: 30_000,
  });
}, 120_000);
