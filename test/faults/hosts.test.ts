// The fault suite, host pods: the sidecar of a host pod holding 50 Sandboxes
// is SIGKILLed under a steady load of invocations of their function. What
// was in flight on it may fail; everything must run elsewhere within
// seconds, and nothing fails once it does. Its own control plane, as the
// other fault files.
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  Namespaces,
  Sandboxes,
  SandboxDeployments,
  SandboxEndpointsType,
} from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { sleep } from '../../lib/duration.ts';
import { startControlPlane, type ControlPlane } from '../../testenv/control-plane.ts';
import { eventually } from '../support/cluster.ts';
import { createTrivialDeployment } from '../support/deployments.ts';
import { startRoostSystem, type RoostSystem } from '../support/roost-system.ts';
import { report, SteadyLoad } from './support/load.ts';

const namespace = 'faults';
const REPLICAS = 50;
/** Room for REPLICAS Sandboxes of 128 MiB and 100 millicores on the one host, and half as many on each spare. */
const FULL = { memoryMiB: 8192, cpuMillis: 6000 };
const SPARE = { memoryMiB: 4096, cpuMillis: 3000 };

let controlPlane: ControlPlane;
let client: KubeClient;
let system: RoostSystem;
let load: SteadyLoad | undefined;

beforeAll(async () => {
  controlPlane = await startControlPlane();
  client = controlPlane.client();
  await client.create(Namespaces, { metadata: { name: namespace } });
  system = await startRoostSystem({
    namespace,
    kubeconfig: controlPlane.kubeconfigPath,
    hosts: [{ name: 'full', ...FULL }],
  });
}, 180_000);

afterAll(async () => {
  await load?.stop();
  await system?.stop();
  client?.close();
  await controlPlane?.stop();
});

async function readyOn(): Promise<Map<string, number>> {
  return (await placement()).ready;
}

/** Live Sandboxes per host pod: bound, and Ready. */
async function placement(): Promise<{ bound: Map<string, number>; ready: Map<string, number> }> {
  const list = await client.list(Sandboxes, { namespace });
  const bound = new Map<string, number>();
  const ready = new Map<string, number>();
  const add = (map: Map<string, number>, pod: string) => map.set(pod, (map.get(pod) ?? 0) + 1);
  for (const s of list.items) {
    if (s.metadata.deletionTimestamp || !s.spec.podName) continue;
    add(bound, s.spec.podName);
    if (s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      add(ready, s.spec.podName);
  }
  return { bound, ready };
}

const elsewhere = (byPod: Map<string, number>, dead: string) =>
  [...byPod].filter(([pod]) => pod !== dead).reduce((n, [, c]) => n + c, 0);

test(`a sidecar holding ${REPLICAS} Sandboxes SIGKILLed: all run elsewhere within seconds, and only what was in flight fails`, async () => {
  const full = `${namespace}-full`;
  await createTrivialDeployment(client, { namespace, name: 'many', replicas: REPLICAS });
  await eventually(async () => (await readyOn()).get(full) === REPLICAS, {
    what: `${REPLICAS} Ready Sandboxes on the one host pod`,
    timeoutMs: 120_000,
    intervalMs: 500,
  });
  await system.addHost({ name: 'spare-1', ...SPARE });
  await system.addHost({ name: 'spare-2', ...SPARE });
  load = new SteadyLoad(system.functionUrl('many'), 200);
  await sleep(2000);

  expect([...(await readyOn())]).toEqual([[full, REPLICAS]]);
  const killedAt = Date.now();
  system.hosts.kubelet.get(namespace, full)!.process.kill('SIGKILL');
  let boundAt: number | undefined;
  const movedAt = await eventually(
    async () => {
      const { bound, ready } = await placement();
      if (boundAt === undefined && elsewhere(bound, full) === REPLICAS && !bound.has(full))
        boundAt = Date.now();
      return elsewhere(ready, full) === REPLICAS && !ready.has(full) ? Date.now() : undefined;
    },
    {
      what: `all ${REPLICAS} Sandboxes Ready on the spare host pods`,
      timeoutMs: 60_000,
      intervalMs: 250,
    },
  );
  // The gateway routes on SandboxEndpoints: from when they no longer name the dead pod, nothing may fail.
  const routedAwayAt = await eventually(
    async () => {
      const endpoints = await client.get(SandboxEndpointsType, { namespace, name: 'many' });
      return (endpoints.status?.endpoints ?? []).some((e) => e.podName === full)
        ? undefined
        : Date.now();
    },
    { what: 'the endpoints to leave the dead host pod', timeoutMs: 30_000 },
  );
  await sleep(3000);
  await load.stop();
  const { sent, failed } = load.since(killedAt);
  // A second of slack for the gateway's watch to deliver the endpoints the test read.
  const late = failed.filter((o) => o.sentAt > routedAwayAt + 1000);
  const seconds = (at: number) => ((at - killedAt) / 1000).toFixed(1);
  const reasons = [...new Set(failed.map((o) => o.error ?? `HTTP ${o.status}`))].join(', ');
  report({
    fault: `sidecar SIGKILL, host pod holding ${REPLICAS} Sandboxes (its pod Failed at once; grace 20 s)`,
    load: '5 invocations/s of that function through the gateway',
    sent,
    failed: failed.length,
    recoveredInMs: movedAt - killedAt,
    note: `expected to fail: requests in flight on the dead sidecar or routed to it before its endpoints went (${reasons || 'none'}; endpoints left it ${seconds(routedAwayAt)} s after the kill; all ${REPLICAS} replacements bound ${seconds(boundAt ?? movedAt)} s, Ready ${seconds(movedAt)} s after it); none after`,
  });
  // The target is 10 s; on 2 shared cores 50 plugs take most of it (FAULTS.md).
  expect(movedAt - killedAt).toBeLessThan(30_000);
  expect(
    late.map((o) => `${o.sentAt - killedAt} ms after the kill: ${o.status} ${o.error}`),
  ).toEqual([]);
  const deployment = await client.get(SandboxDeployments, { namespace, name: 'many' });
  expect(deployment.status?.availableReplicas).toBe(REPLICAS);
});
