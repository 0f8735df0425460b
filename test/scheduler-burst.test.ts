// End to end: a burst of Sandboxes created at once never over-commits a host
// pod (the scheduler counts its own bindings before the API server shows
// them), the rest wait as Unschedulable, and deleting bound ones lets them in.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startController, type ControllerProcess } from './support/controller-process.ts';
import { SidecarStandIn } from './support/sidecar-stand-in.ts';

let client: KubeClient;
let namespace: string;
let pool: SidecarStandIn;
let controller: ControllerProcess;
let sandboxes: Informer<Sandbox>;

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'burst');
  pool = await SidecarStandIn.start({
    client,
    namespace,
    hosts: [
      { name: 'roomy', memoryMiB: 1024 },
      { name: 'capped', memoryMiB: 1024, maxSandboxes: 3 },
    ],
  });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controller = startController({ namespace, identity: 'burst' });
});

afterAll(async () => {
  await controller?.stop();
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
});

const bound = () =>
  sandboxes.store.list().filter((s) => s.spec.podName && !s.metadata.deletionTimestamp);
const unschedulable = () =>
  sandboxes.store
    .list()
    .filter(
      (s) => !s.spec.podName && s.status?.conditions?.some((c) => c.reason === 'Unschedulable'),
    );

test('twelve Sandboxes at once onto room for seven: seven bound, no pod over capacity, five Unschedulable until room frees', async () => {
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      client.create(Sandboxes, {
        metadata: { name: `s-${String(i).padStart(2, '0')}`, namespace },
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 256,
            code: { inline: { files: { 'index.mjs': 'export const handler = async () => 1;' } } },
          },
        },
      }),
    ),
  );
  await eventually(() => bound().length === 7 && unschedulable().length === 5, {
    what: '7 bound and 5 Unschedulable',
  });
  // Settled: nothing more gets bound.
  await new Promise((r) => setTimeout(r, 1000));
  expect(bound()).toHaveLength(7);
  const perPod = new Map<string, number>();
  for (const s of bound()) perPod.set(s.spec.podName!, (perPod.get(s.spec.podName!) ?? 0) + 1);
  expect(perPod.get(pool.podName('roomy'))).toBe(4);
  expect(perPod.get(pool.podName('capped'))).toBe(3);
  expect(unschedulable()[0]!.status!.conditions!.find((c) => c.type === 'Scheduled')!.message).toBe(
    '0/2 host pods fit: 1 at its cap of 3 Sandboxes, 1 insufficient memory (need 256 MiB, most free 0 MiB)',
  );

  // Two leave the roomy pod: two waiting ones take their place at once.
  const leaving = bound()
    .filter((s) => s.spec.podName === pool.podName('roomy'))
    .slice(0, 2);
  for (const s of leaving) await client.delete(Sandboxes, { namespace, name: s.metadata.name! });
  await eventually(() => bound().length === 7 && unschedulable().length === 3, {
    what: 'two waiting Sandboxes bound in the freed room',
  });
  expect(bound().filter((s) => s.spec.podName === pool.podName('roomy'))).toHaveLength(4);
});
