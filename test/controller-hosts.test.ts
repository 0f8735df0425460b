// End to end: what happens to Sandboxes when host pods are too small, come,
// go away, or fall silent. `roost controller` runs as a real process; the
// stand-in plays the host pods' sidecars and kubelet.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startController, type ControllerProcess } from './support/controller-process.ts';
import { SidecarStandIn } from './support/sidecar-stand-in.ts';

let client: KubeClient;
let namespace: string;
let pool: SidecarStandIn;
let controller: ControllerProcess;
let sandboxes: Informer<Sandbox>;

const isReady = (s: Sandbox) =>
  !s.metadata.deletionTimestamp &&
  s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const readyOf = (deployment: string) =>
  sandboxes.store
    .list()
    .filter((s) => s.metadata.labels?.['roost.dev/deployment'] === deployment && isReady(s));

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'hosts');
  pool = await SidecarStandIn.start({
    client,
    namespace,
    hosts: [{ name: 'a' }, { name: 'b' }, { name: 'c', runtimes: ['nodejs'] }],
  });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controller = startController({ namespace, identity: 'hosts' });
});

afterAll(async () => {
  await controller?.stop();
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
});

test('a Sandbox too big for the pool is Unschedulable with a message saying what is short; a bigger host pod gets it scheduled', async () => {
  await client.create(Sandboxes, {
    metadata: { name: 'big-java', namespace },
    spec: {
      function: {
        runtime: 'java',
        handler: 'com.example.Hello::handleRequest',
        memoryMiB: 2048,
        code: { url: { url: 'https://example.invalid/hello.jar', sha256: 'a'.repeat(64) } },
      },
    },
  });
  const pending = await eventually(
    () => {
      const s = sandboxes.store.get(`${namespace}/big-java`);
      const scheduled = s?.status?.conditions?.find((c) => c.type === 'Scheduled');
      return scheduled?.reason === 'Unschedulable' ? { s: s!, scheduled } : undefined;
    },
    { what: 'Scheduled=False/Unschedulable' },
  );
  expect(pending.scheduled.status).toBe('False');
  expect(pending.scheduled.message).toBe(
    '0/3 host pods fit: 2 insufficient memory (need 2048 MiB, most free 1024 MiB), 1 does not offer runtime java',
  );
  expect(pending.s.status?.phase).toBe('Pending');
  expect(pending.s.spec.podName).toBeUndefined();
  const get = await kubectl(['get', 'sbx', 'big-java', '-n', namespace]);
  expect(get.stdout).toMatch(/big-java\s+Pending\s/);
  const describe = await eventually(
    async () => {
      const out = await kubectl(['describe', 'sbx', 'big-java', '-n', namespace]);
      return out.stdout.includes('Unschedulable') ? out.stdout : undefined;
    },
    { what: 'an Unschedulable event' },
  );
  expect(describe).toMatch(/Warning\s+Unschedulable/);

  const big = await pool.addHost({ name: 'big', memoryMiB: 4096 });
  const bound = await eventually(() => sandboxes.store.get(`${namespace}/big-java`)?.spec.podName, {
    what: 'the Sandbox to be bound once a big enough host pod exists',
  });
  expect(bound).toBe(big);
  await eventually(() => isReady(sandboxes.store.get(`${namespace}/big-java`)!), { what: 'Ready' });
  const events = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    'reason=Scheduled',
    '-o',
    'jsonpath={.items[*].message}',
  ]);
  expect(events.stdout).toContain(`Successfully assigned ${namespace}/big-java to ${big}`);
  await client.delete(Sandboxes, { namespace, name: 'big-java' });
  await eventually(() => !sandboxes.store.get(`${namespace}/big-java`), { what: 'big-java gone' });
});

async function deploy(name: string, replicas: number) {
  const applied = await kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  replicas: ${replicas}
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        memoryMiB: 128
        code: { inline: { files: { index.mjs: "export const handler = async () => 'ok';" } } }
`,
  });
  expect(applied.code).toBe(0);
  await eventually(() => readyOf(name).length === replicas, {
    what: `${replicas} Ready`,
    timeoutMs: 30_000,
  });
}

test('deleting a host pod moves its Sandboxes to other host pods', async () => {
  await deploy('moved', 2);
  const victim = readyOf('moved')[0]!;
  const lostPod = victim.spec.podName!;
  const deletedAt = Date.now();
  await pool.deleteHost(lostPod);

  await eventually(
    () =>
      readyOf('moved').length === 2 && readyOf('moved').every((s) => s.spec.podName !== lostPod),
    { what: 'two Ready replicas, none on the deleted pod', timeoutMs: 30_000 },
  );
  const tookMs = Date.now() - deletedAt;
  expect(tookMs).toBeLessThan(15_000);
  // The old Sandbox is gone for good: its finalizer removed for the sidecar that will not.
  await eventually(() => !sandboxes.store.get(`${namespace}/${victim.metadata.name}`), {
    what: 'the old Sandbox gone',
  });
  const events = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    'reason=HostLost',
    '-o',
    'jsonpath={.items[*].message}',
  ]);
  expect(events.stdout).toContain(lostPod);
});

test('a host pod whose sidecar dies (Lease stale past the 20 s grace) has its Sandboxes run elsewhere within 30 s', async () => {
  const victim = readyOf('moved')[0]!;
  const silentPod = victim.spec.podName!;
  const killedAt = Date.now();
  pool.kill(silentPod);

  // Not before the grace period: a sidecar that misses one renewal is not lost.
  await new Promise((r) => setTimeout(r, 10_000));
  expect(
    sandboxes.store.get(`${namespace}/${victim.metadata.name}`)?.metadata.deletionTimestamp,
  ).toBeUndefined();

  await eventually(
    () =>
      readyOf('moved').length === 2 && readyOf('moved').every((s) => s.spec.podName !== silentPod),
    { what: 'two Ready replicas, none on the silent pod', timeoutMs: 30_000 },
  );
  expect(Date.now() - killedAt).toBeLessThan(30_000);
  await eventually(() => !sandboxes.store.get(`${namespace}/${victim.metadata.name}`), {
    what: 'the old Sandbox gone',
  });
  const events = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    'reason=HostLost',
    '-o',
    'jsonpath={.items[*].message}',
  ]);
  expect(events.stdout).toMatch(
    new RegExp(`host pod ${silentPod} has not renewed its Lease for \\d+s \\(grace 20s\\)`),
  );
}, 60_000);
