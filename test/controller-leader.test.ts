// End to end: two `roost controller` processes; only the leader acts, and when
// it is SIGKILLed (no chance to release its Lease) the other takes over within
// 15 s with the default timings (Lease 10 s, retry 2 s).
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { Leases, Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startController, type ControllerProcess } from './support/controller-process.ts';
import { SidecarStandIn } from './support/sidecar-stand-in.ts';

let client: KubeClient;
let namespace: string;
let pool: SidecarStandIn;
let controllers: ControllerProcess[] = [];
let sandboxes: Informer<Sandbox>;

const ready = () =>
  sandboxes.store
    .list()
    .filter(
      (s) =>
        !s.metadata.deletionTimestamp &&
        s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'leader');
  pool = await SidecarStandIn.start({
    client,
    namespace,
    hosts: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
  });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controllers = [
    startController({ namespace, identity: 'first' }),
    startController({ namespace, identity: 'second' }),
  ];
});

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
});

const holder = async () =>
  (await client.get(Leases, { namespace, name: 'roost-controller' })).spec.holderIdentity;

test('only the leader acts; after SIGKILL of the leader the other acts within 15 s', async () => {
  const leaderId = await eventually(() => holder(), { what: 'a leader', timeoutMs: 20_000 });
  const leader = controllers.find((c) => c.identity === leaderId)!;
  const standby = controllers.find((c) => c.identity !== leaderId)!;

  const applied = await kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata: { name: fn, namespace: ${namespace} }
spec:
  replicas: 1
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        code: { inline: { files: { index.mjs: "export const handler = async () => 'ok';" } } }
`,
  });
  expect(applied.code).toBe(0);
  await eventually(() => ready().length === 1, { what: 'one Ready replica', timeoutMs: 30_000 });
  // Each process writes its log through a pipe: give a line a moment to land.
  await eventually(() => leader.log().includes('caches synced; acting'), {
    what: 'the leader to log that it acts',
  });
  await eventually(() => standby.log().includes('campaigning for leadership'), {
    what: 'the standby to log that it campaigns',
  });
  expect(standby.log()).not.toContain('became leader');

  leader.process.kill('SIGKILL');
  await leader.process.exited;
  const killedAt = Date.now();
  // Work that only a leader can do: scale up.
  await kubectl(['scale', 'sbxdeploy/fn', '--replicas=3', '-n', namespace]);
  await eventually(() => sandboxes.store.list().length === 3, {
    what: 'the new leader to create replicas',
    timeoutMs: 20_000,
  });
  const actedInMs = Date.now() - killedAt;
  expect(actedInMs).toBeLessThan(15_000);
  expect(await holder()).toBe(standby.identity);
  expect(standby.log()).toContain('became leader');
  await eventually(() => ready().length === 3, { what: 'three Ready replicas', timeoutMs: 20_000 });
  // No double creation by two leaders: exactly three Sandboxes exist.
  expect(sandboxes.store.list()).toHaveLength(3);
}, 90_000);
