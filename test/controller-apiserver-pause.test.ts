// End to end: the API server itself stops answering for longer than the host
// grace (SIGSTOP for 22 s, then SIGCONT). No Lease renewal reaches anyone
// during that time, so every host looks silent; none of them is dead, and no
// Sandbox may be evicted. This file runs its own control plane, since pausing
// the shared one would stall every other test file.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { Events, Namespaces, Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { sleep } from '../lib/duration.ts';
import { startControlPlane, type ControlPlane } from '../testenv/control-plane.ts';
import { eventually } from './support/cluster.ts';
import { startController, type ControllerProcess } from './support/controller-process.ts';
import { createTrivialDeployment } from './support/deployments.ts';
import { SidecarStandIn } from './support/sidecar-stand-in.ts';

const GRACE_MS = 20_000;
const PAUSE_MS = 22_000;

let controlPlane: ControlPlane;
let client: KubeClient;
let pool: SidecarStandIn;
let controller: ControllerProcess;
let sandboxes: Informer<Sandbox>;
let apiServerPid: number | undefined;
const namespace = 'pause';

const ready = (s: Sandbox) =>
  !s.metadata.deletionTimestamp &&
  s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

beforeAll(async () => {
  controlPlane = await startControlPlane();
  client = controlPlane.client();
  await client.create(Namespaces, { metadata: { name: namespace } });
  pool = await SidecarStandIn.start({
    client,
    namespace,
    hosts: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
  });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controller = startController({
    namespace,
    identity: 'pause',
    kubeconfig: controlPlane.kubeconfigPath,
    hostGrace: `${GRACE_MS}ms`,
  });
}, 180_000);

afterAll(async () => {
  // A stopped process cannot act on SIGTERM; let it run again before stopping it.
  if (apiServerPid) process.kill(apiServerPid, 'SIGCONT');
  await controller?.stop();
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
  await controlPlane?.stop();
});

test(`an API server paused for ${PAUSE_MS / 1000} s (past the ${GRACE_MS / 1000} s host grace) and resumed evicts no healthy Sandbox`, async () => {
  await createTrivialDeployment(client, { namespace, name: 'steady', replicas: 3 });
  const running = await eventually(
    () => {
      const all = sandboxes.store.list().filter(ready);
      return all.length === 3 ? all.map((s) => s.metadata.name!).sort() : undefined;
    },
    { what: '3 Ready Sandboxes', timeoutMs: 30_000 },
  );
  // Anything that marks one of them Failed or deletes it, from now on.
  const evicted: string[] = [];
  sandboxes.addHandlers({
    onUpdate: (_old, s) => {
      if (s.metadata.deletionTimestamp || s.status?.phase === 'Failed')
        evicted.push(s.metadata.name!);
    },
    onDelete: (s) => evicted.push(s.metadata.name!),
  });

  apiServerPid = controlPlane.pids['kube-apiserver']!;
  process.kill(apiServerPid, 'SIGSTOP');
  await sleep(PAUSE_MS);
  process.kill(apiServerPid, 'SIGCONT');
  apiServerPid = undefined;

  // A whole grace period and more after the API server is back: every host
  // has renewed since, and none may have been judged by the silence.
  await sleep(GRACE_MS + 5000);
  expect(evicted).toEqual([]);
  expect(
    sandboxes.store
      .list()
      .filter(ready)
      .map((s) => s.metadata.name!)
      .sort(),
  ).toEqual(running);
  const hostLost = await client.list(Events, { namespace, fieldSelector: 'reason=HostLost' });
  expect(hostLost.items.map((e) => e.message)).toEqual([]);
  expect(controller.log()).toMatch(/cannot reach the API server/);
}, 120_000);
