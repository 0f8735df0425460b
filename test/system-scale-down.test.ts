// End to end with real sidecars and a real gateway: replicas leaving under
// load fail no request. A Sandbox being deleted is listed as terminating (the
// gateway stops choosing it), refuses what still reaches it without running
// it (the gateway tries another), and finishes what it had in flight before
// its sidecar unplugs it; the gateway keeps its connection to a sidecar with
// requests in flight even when none of that sidecar's Sandboxes is listed.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SandboxDeployments } from '../kube/api/resources.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace(client, 'scaledown');
  system = await startRoostSystem({ namespace });
});

afterAll(async () => {
  await system?.stop();
  client.close();
});

async function scale(replicas: number) {
  await client.patch(SandboxDeployments, { namespace, name: 'busy' }, { spec: { replicas } });
  await eventually(
    async () => {
      const d = await client.get(SandboxDeployments, { namespace, name: 'busy' });
      return d.status?.replicas === replicas && d.status.readyReplicas === replicas;
    },
    { what: `${replicas} ready replicas and no others`, timeoutMs: 30_000, intervalMs: 200 },
  );
}

test('scaling 3 → 1 → 3 → 1 under steady load answers every request 200', async () => {
  await client.create(SandboxDeployments, {
    metadata: { name: 'busy', namespace },
    spec: {
      replicas: 3,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 32,
            concurrency: 4,
            // Long enough that requests are in flight whenever a replica leaves.
            code: {
              inline: {
                files: {
                  'index.mjs': `export const handler = async () => { await new Promise((r) => setTimeout(r, 800)); return 'ok'; };`,
                },
              },
            },
          },
        },
      },
    },
  });
  await eventually(
    async () =>
      (await client.get(SandboxDeployments, { namespace, name: 'busy' })).status?.readyReplicas ===
      3,
    { what: '3 ready replicas', timeoutMs: 30_000 },
  );

  let running = true;
  let answered = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (running) {
      const response = await fetch(system.functionUrl('busy'));
      const body = await response.text();
      if (response.status === 200) answered++;
      else failures.push(`${response.status} ${body}`);
    }
  };
  const workers = Array.from({ length: 12 }, worker);
  try {
    await eventually(() => answered >= 20, { what: 'traffic flowing', timeoutMs: 10_000 });
    for (const replicas of [1, 3, 1]) {
      await scale(replicas);
      // The gateway's channel pruning runs each second: let it see the change.
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    running = false;
    await Promise.all(workers);
  }
  expect(failures).toEqual([]);
  expect(answered).toBeGreaterThan(50);
}, 120_000);
