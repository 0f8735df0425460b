// The fault suite, control plane: a paused API server, a killed leader and a
// killed etcd, each under a light steady load of invocations through the
// gateway, with the failed requests counted and the leaders' terms checked
// never to overlap. Its own control plane: these faults would stall anything
// sharing one. Each scenario prints its row of FAULTS.md.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Leases, Namespaces, SandboxDeployments } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { CONTROLLER_LEASE_NAME } from '../../kube/well-known.ts';
import { sleep } from '../../lib/duration.ts';
import { startControlPlane, type ControlPlane } from '../../testenv/control-plane.ts';
import { eventually } from '../support/cluster.ts';
import { startController, type ControllerProcess } from '../support/controller-process.ts';
import { createTrivialDeployment } from '../support/deployments.ts';
import { startRoostSystem, type RoostSystem } from '../support/roost-system.ts';
import { report, SteadyLoad } from './support/load.ts';

const namespace = 'faults';
const LOAD = '5 invocations/s of a warm function (2 replicas) through the gateway';

let controlPlane: ControlPlane;
let client: KubeClient;
let system: RoostSystem;
let standby: ControllerProcess;
let load: SteadyLoad;
let stoppedPid: number | undefined;

beforeAll(async () => {
  controlPlane = await startControlPlane();
  client = controlPlane.client();
  await client.create(Namespaces, { metadata: { name: namespace } });
  system = await startRoostSystem({
    namespace,
    kubeconfig: controlPlane.kubeconfigPath,
    hosts: [{ name: 'host-1' }, { name: 'host-2' }],
  });
  standby = startController({
    namespace,
    identity: 'standby',
    kubeconfig: controlPlane.kubeconfigPath,
    token: system.hosts.token,
  });
  await createTrivialDeployment(client, { namespace, name: 'steady', replicas: 2 });
  await eventually(async () => (await fetch(system.functionUrl('steady'))).status === 200, {
    what: 'steady to answer',
    timeoutMs: 60_000,
  });
  load = new SteadyLoad(system.functionUrl('steady'), 200);
}, 180_000);

afterAll(async () => {
  if (stoppedPid) process.kill(stoppedPid, 'SIGCONT');
  await load?.stop();
  await standby?.stop();
  await system?.stop();
  client?.close();
  await controlPlane?.stop();
});

/** When a controller was killed: a dead process acts no more, though it never logged its term's end. */
const killedAt = new Map<string, number>();

interface Term {
  who: string;
  from: number;
  to: number;
}

/** Every leadership term in the controllers' logs, by their own account (pino's time of each line). */
function terms(): Term[] {
  const all: Term[] = [];
  for (const controller of [system.controller, standby]) {
    let open: number | undefined;
    for (const line of controller.log().split('\n')) {
      const match =
        /"time":"([^"]+)".*"msg":"(became leader|lost leadership|stopped leading)"/.exec(line);
      if (!match) continue;
      const at = Date.parse(match[1]!);
      if (match[2] === 'became leader') open = at;
      else if (open !== undefined) {
        all.push({ who: controller.identity, from: open, to: at });
        open = undefined;
      }
    }
    if (open !== undefined)
      all.push({
        who: controller.identity,
        from: open,
        to: killedAt.get(controller.identity) ?? Infinity,
      });
  }
  return all;
}

function overlapping(all: Term[]): [Term, Term][] {
  const pairs: [Term, Term][] = [];
  for (const a of all)
    for (const b of all) if (a.who < b.who && a.from < b.to && b.from < a.to) pairs.push([a, b]);
  return pairs;
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await client.get(Leases, { namespace, name: CONTROLLER_LEASE_NAME });
  return lease.spec.holderIdentity || undefined;
}

/** Until the controllers act again: a scale-up is carried out and the new Sandbox answers. */
async function actsAgain(replicas: number, timeoutMs: number): Promise<void> {
  await client.patch(SandboxDeployments, { namespace, name: 'steady' }, { spec: { replicas } });
  await eventually(
    async () =>
      (await client.get(SandboxDeployments, { namespace, name: 'steady' })).status
        ?.availableReplicas === replicas,
    { what: `steady at ${replicas} available replicas`, timeoutMs },
  );
}

test('API server SIGSTOPped for 20 s: warm functions keep answering, no two leaders act, all converges after SIGCONT', async () => {
  const startedAt = Date.now();
  stoppedPid = controlPlane.pids['kube-apiserver']!;
  process.kill(stoppedPid, 'SIGSTOP');
  await sleep(20_000);
  process.kill(stoppedPid, 'SIGCONT');
  stoppedPid = undefined;
  const resumedAt = Date.now();
  await actsAgain(3, 60_000);
  const recoveredInMs = Date.now() - resumedAt;
  const { sent, failed } = load.since(startedAt);
  report({
    fault: 'kube-apiserver SIGSTOP 20 s, then SIGCONT',
    load: LOAD,
    sent,
    failed: failed.length,
    recoveredInMs,
    note: 'nothing fails: the gateway routes from its cache; the leader stops acting within its 7 s renew deadline',
  });
  expect(failed).toEqual([]);
  expect(overlapping(terms())).toEqual([]);
});

test('leader controller SIGKILLed: the standby acts within 15 s, no request fails', async () => {
  const holder = await eventually(leaseHolder, { what: 'a leader' });
  const leader = holder === standby.identity ? standby : system.controller;
  const other = leader === standby ? system.controller : standby;
  const startedAt = Date.now();
  leader.process.kill('SIGKILL');
  await leader.process.exited;
  killedAt.set(leader.identity, Date.now());
  const takenAt = await eventually(
    async () => ((await leaseHolder()) === other.identity ? Date.now() : undefined),
    { what: `${other.identity} to take the Lease`, timeoutMs: 20_000, intervalMs: 100 },
  );
  await actsAgain(2, 30_000);
  const { sent, failed } = load.since(startedAt);
  report({
    fault: 'leader `roost controller` SIGKILL',
    load: LOAD,
    sent,
    failed: failed.length,
    recoveredInMs: takenAt - startedAt,
    note: 'the standby takes the Lease once it expires (10 s) and acts',
  });
  expect(takenAt - startedAt).toBeLessThan(15_000);
  expect(failed).toEqual([]);
  expect(overlapping(terms())).toEqual([]);
});

test('etcd SIGKILLed and started again 5 s later: warm functions keep answering, components recover without a restart', async () => {
  const pids = {
    gateway: system.gateway.process.pid,
    sidecars: system.hosts.kubelet.list().map((pod) => pod.process.pid),
  };
  const startedAt = Date.now();
  process.kill(controlPlane.pids.etcd!, 'SIGKILL');
  await sleep(5000);
  await controlPlane.restartEtcd();
  const restartedAt = Date.now();
  // Acting again: a new function is scheduled, plugged and routed to.
  await createTrivialDeployment(client, { namespace, name: 'after-etcd', replicas: 1 });
  await eventually(async () => (await fetch(system.functionUrl('after-etcd'))).status === 200, {
    what: 'a function created after etcd came back to answer',
    timeoutMs: 60_000,
  });
  const recoveredInMs = Date.now() - restartedAt;
  const { sent, failed } = load.since(startedAt);
  report({
    fault: 'etcd SIGKILL, started again after 5 s',
    load: LOAD,
    sent,
    failed: failed.length,
    recoveredInMs,
    note: 'nothing fails; a function created after the restart answers; no Roost process restarted',
  });
  expect(failed).toEqual([]);
  expect(system.gateway.process.exit).toBeUndefined();
  expect(system.gateway.process.pid).toBe(pids.gateway);
  expect(system.hosts.kubelet.list().map((pod) => pod.process.pid)).toEqual(pids.sidecars);
  expect(overlapping(terms())).toEqual([]);
});
