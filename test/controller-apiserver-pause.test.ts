// End to end: the API server itself stops answering (SIGSTOP, then SIGCONT).
// For longer than the host grace: no Lease renewal reaches anyone during that
// time, so every host looks silent; none of them is dead, and no Sandbox may
// be evicted. For longer than the leader Lease: the leader, whose renewals
// hang, must stop acting before its Lease could expire and a standby take
// over. This file runs its own control plane, since pausing the shared one
// would stall every other test file.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { Events, Leases, Namespaces, Sandboxes } from '../kube/api/resources.ts';
import { CONTROLLER_LEASE_NAME } from '../kube/well-known.ts';
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
let standby: ControllerProcess | undefined;
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
  await standby?.stop();
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
  // It noticed: it stopped leading (its renewals hung) or judged itself cut off.
  expect(controller.log()).toMatch(/lost leadership|cannot reach the API server/);
}, 120_000);

/** Leadership lines of a controller's log, oldest first: "became leader", "lost leadership". */
function terms(of: ControllerProcess): string[] {
  return of
    .log()
    .split('\n')
    .flatMap((line) => {
      const match = /"msg":"(became leader|lost leadership)"/.exec(line);
      return match ? [match[1]!] : [];
    });
}

const LEASE_DURATION_MS = 10_000;
const RENEW_DEADLINE_MS = 7_000;

test(`a leader whose API server hangs stops acting within its ${RENEW_DEADLINE_MS / 1000} s renew deadline, before its ${LEASE_DURATION_MS / 1000} s Lease could expire; afterwards one leads`, async () => {
  standby = startController({
    namespace,
    identity: 'pause-b',
    kubeconfig: controlPlane.kubeconfigPath,
    hostGrace: `${GRACE_MS}ms`,
  });
  await eventually(() => /campaigning for leadership/.test(standby!.log()), {
    what: 'the standby to campaign',
    timeoutMs: 30_000,
  });
  await eventually(() => terms(controller).at(-1) === 'became leader', {
    what: 'the first controller to lead',
    timeoutMs: 30_000,
  });
  const leaderTerms = terms(controller).length;

  apiServerPid = controlPlane.pids['kube-apiserver']!;
  const stoppedAt = Date.now();
  process.kill(apiServerPid, 'SIGSTOP');
  // Its last renewal was at most a retry period before the stop: it must give
  // up within the renew deadline of that, where a renewal left to the
  // client's 30 s socket timeout would have kept it leading past its Lease.
  const lostAt = await eventually(
    () => (terms(controller).length > leaderTerms ? Date.now() : undefined),
    { what: 'the leader to stop acting', timeoutMs: LEASE_DURATION_MS + 5000, intervalMs: 50 },
  );
  expect(terms(controller).at(-1)).toBe('lost leadership');
  expect(lostAt - stoppedAt).toBeLessThan(RENEW_DEADLINE_MS + 1000);
  expect(terms(standby)).toEqual([]);
  await sleep(Math.max(0, LEASE_DURATION_MS + 2000 - (Date.now() - stoppedAt)));
  process.kill(apiServerPid, 'SIGCONT');
  apiServerPid = undefined;

  // One of the two leads again, and only one.
  const holder = await eventually(
    async () => {
      const lease = await client.get(Leases, { namespace, name: CONTROLLER_LEASE_NAME });
      const id = lease.spec.holderIdentity;
      const leader = id === 'pause' ? controller : id === 'pause-b' ? standby! : undefined;
      return leader && terms(leader).at(-1) === 'became leader' ? id : undefined;
    },
    { what: 'one controller to lead again', timeoutMs: 30_000 },
  );
  const other = holder === 'pause' ? standby : controller;
  expect(terms(other).at(-1) ?? 'never led').not.toBe('became leader');
  expect(controller.process.exit).toBeUndefined();
}, 90_000);
