// End to end: a host pod full of Sandboxes whose sidecar dies. Every one of
// them must move at once when the host is declared lost, not one per retry.
// `roost controller` runs as a real process with a 5 s grace; the stand-in
// plays the host pods' sidecars.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startController, type ControllerProcess } from './support/controller-process.ts';
import { createTrivialDeployment } from './support/deployments.ts';
import { SidecarStandIn } from './support/sidecar-stand-in.ts';

const REPLICAS = 12;
const GRACE_MS = 5000;
/** How often the stand-in sidecars renew their Leases. */
const RENEW_MS = 2000;

let client: KubeClient;
let namespace: string;
let pool: SidecarStandIn;
let controller: ControllerProcess;
let sandboxes: Informer<Sandbox>;

const ready = (s: Sandbox) =>
  !s.metadata.deletionTimestamp &&
  s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'hostloss');
  pool = await SidecarStandIn.start({
    client,
    namespace,
    hosts: [{ name: 'full', memoryMiB: 4096 }],
    renewMs: RENEW_MS,
  });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controller = startController({
    namespace,
    identity: 'hostloss',
    hostGrace: `${GRACE_MS}ms`,
    // The stand-in renews every RENEW_MS, not every 10 s as a sidecar does.
    extraArgs: [`--host-lease-renew=${RENEW_MS}ms`],
  });
});

afterAll(async () => {
  await controller?.stop();
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
});

test(`all ${REPLICAS} Sandboxes of a host pod whose sidecar dies run elsewhere within seconds of the host being declared lost`, async () => {
  const full = pool.podName('full');
  await createTrivialDeployment(client, { namespace, name: 'many', replicas: REPLICAS });
  await eventually(
    () =>
      sandboxes.store.list().filter((s) => s.spec.podName === full && ready(s)).length === REPLICAS,
    { what: `${REPLICAS} Ready Sandboxes on the one host pod`, timeoutMs: 30_000 },
  );
  const before = new Set(sandboxes.store.keys());
  const spare = await pool.addHost({ name: 'spare', memoryMiB: 4096 });

  // The moment the controller acts is when the first Sandbox of the host turns Failed or deleted.
  let declaredLostAt: number | undefined;
  sandboxes.addHandlers({
    onUpdate: (_old, s) => {
      if (s.spec.podName === full && (s.metadata.deletionTimestamp || s.status?.phase === 'Failed'))
        declaredLostAt ??= Date.now();
    },
  });
  const killedAt = Date.now();
  pool.kill(full);

  const movedAt = await eventually(
    () => {
      const all = sandboxes.store.list();
      const moved = all.filter((s) => s.spec.podName === spare && ready(s));
      return moved.length === REPLICAS &&
        all.every((s) => !before.has(`${namespace}/${s.metadata.name}`))
        ? Date.now()
        : undefined;
    },
    { what: `${REPLICAS} Ready on the spare host and every old Sandbox gone`, timeoutMs: 40_000 },
  );
  const lostAfterMs = declaredLostAt! - killedAt;
  const movedInMs = movedAt - declaredLostAt!;
  console.log(
    `host loss: declared lost ${lostAfterMs} ms after the sidecar died (grace ${GRACE_MS} ms); all ${REPLICAS} Sandboxes Ready elsewhere and the old ones gone ${movedInMs} ms later`,
  );
  // Not before the grace (a missed renewal is not death), and not much after
  // it. The grace runs from the last renewal the controller saw, up to one
  // renewal period (2 s) before the sidecar died.
  expect(lostAfterMs).toBeGreaterThanOrEqual(GRACE_MS - RENEW_MS);
  expect(lostAfterMs).toBeLessThan(GRACE_MS + 4000);
  expect(movedInMs).toBeLessThan(8000);

  const events = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    'reason=HostLost,involvedObject.kind=Sandbox',
    '-o',
    'jsonpath={range .items[*]}{.involvedObject.name}{"\\n"}{end}',
  ]);
  const evicted = new Set(events.stdout.split('\n').filter(Boolean));
  expect(evicted.size).toBe(REPLICAS);
  // The controller never had to retry the host: no write of it conflicted.
  const hostRetries = controller
    .log()
    .split('\n')
    .filter(
      (line) => line.includes('host-lifecycle-controller') && line.includes('reconcile failed'),
    );
  expect(hostRetries).toEqual([]);
}, 90_000);
