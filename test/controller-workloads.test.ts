// End to end: `roost controller` (a real process) with the real control plane
// and a pool of host pods whose sidecars are played by the stand-in. A user
// applies, scales, updates and rolls back a SandboxDeployment with kubectl.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox, SandboxDeployment, SandboxReplicaSet } from '../kube/api/roost.ts';
import {
  SandboxDeployments,
  SandboxEndpointsType,
  SandboxReplicaSets,
  Sandboxes,
} from '../kube/api/resources.ts';
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

const manifest = (ns: string, replicas: number, greeting = 'hello') => `
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata:
  name: hello
  namespace: ${ns}
spec:
  replicas: ${replicas}
  strategy:
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        memoryMiB: 64
        code:
          inline:
            files:
              index.mjs: |
                export const handler = async () => ({ greeting: '${greeting}' });
`;

const isReady = (s: Sandbox) =>
  !s.metadata.deletionTimestamp &&
  s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const live = () => sandboxes.store.list().filter((s) => !s.metadata.deletionTimestamp);
const ready = () => sandboxes.store.list().filter(isReady);

async function deployment(): Promise<SandboxDeployment> {
  return client.get(SandboxDeployments, { namespace, name: 'hello' });
}

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'workloads');
  pool = await SidecarStandIn.start({
    client,
    namespace,
    hosts: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }],
  });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controller = startController({ namespace, identity: 'workloads' });
});

afterAll(async () => {
  await controller?.stop();
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
});

test('kubectl apply of 3 replicas gives 3 Ready Sandboxes on 3 distinct host pods and 3 endpoints', async () => {
  const applied = await kubectl(['apply', '-f', '-'], { input: manifest(namespace, 3) });
  expect(applied.stderr).toBe('');
  expect(applied.stdout).toContain('sandboxdeployment.roost.dev/hello created');

  await eventually(() => ready().length === 3, { what: '3 Ready Sandboxes', timeoutMs: 30_000 });
  const pods = new Set(ready().map((s) => s.spec.podName));
  expect(pods.size).toBe(3);
  for (const s of ready()) expect(s.metadata.labels?.['roost.dev/deployment']).toBe('hello');

  const endpoints = await eventually(
    async () => {
      const e = await client.get(SandboxEndpointsType, { namespace, name: 'hello' });
      return e.status?.readyCount === 3 ? e : undefined;
    },
    { what: 'SandboxEndpoints with 3 ready', timeoutMs: 20_000 },
  );
  const addresses = endpoints.status!.endpoints!.map((e) => e.address).sort();
  expect(addresses).toEqual(
    ready()
      .map((s) => s.status!.address!)
      .sort(),
  );
  expect(new Set(addresses).size).toBe(3);
  expect(endpoints.status!.summary!.split(',')).toHaveLength(3);
  expect(endpoints.metadata.ownerReferences?.[0]).toMatchObject({
    kind: 'SandboxDeployment',
    name: 'hello',
    controller: true,
  });

  // kubectl get reads like kubectl get deploy.
  await eventually(async () => (await deployment()).status?.availableReplicas === 3, {
    what: 'status available 3',
  });
  const get = await kubectl(['get', 'sbxdeploy', '-n', namespace]);
  const [header, row] = get.stdout.trim().split('\n');
  expect(header!.split(/\s+/)).toEqual(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  expect(row).toMatch(/^hello\s+3\/3\s+3\s+3\s+\d+s$/);
  const ep = await kubectl(['get', 'sbxep', 'hello', '-n', namespace]);
  expect(ep.stdout).toMatch(
    /hello\s+127\.0\.\d+\.\d+:50051,127\.0\.\d+\.\d+:50051,127\.0\.\d+\.\d+:50051/,
  );
});

test('kubectl scale to 5 and then to 0 works, and the status follows', async () => {
  const up = await kubectl(['scale', 'sbxdeploy/hello', '--replicas=5', '-n', namespace]);
  expect(up.stdout).toContain('scaled');
  await eventually(() => ready().length === 5 && live().length === 5, {
    what: '5 Ready Sandboxes',
    timeoutMs: 30_000,
  });
  // Four host pods, five replicas: every pod has one before any has two.
  const perPod = new Map<string, number>();
  for (const s of ready()) perPod.set(s.spec.podName!, (perPod.get(s.spec.podName!) ?? 0) + 1);
  expect([...perPod.values()].sort()).toEqual([1, 1, 1, 2]);
  await eventually(async () => (await deployment()).status?.ready === '5/5', { what: 'ready 5/5' });

  const down = await kubectl(['scale', 'sbxdeploy/hello', '--replicas=0', '-n', namespace]);
  expect(down.stdout).toContain('scaled');
  await eventually(() => sandboxes.store.size === 0, { what: 'no Sandboxes', timeoutMs: 30_000 });
  await eventually(
    async () => {
      const d = await deployment();
      return d.status?.ready === '0/0' && d.status.replicas === 0;
    },
    { what: 'ready 0/0' },
  );
  await eventually(
    async () =>
      (await client.get(SandboxEndpointsType, { namespace, name: 'hello' })).status?.readyCount ===
      0,
    {
      what: 'no endpoints',
    },
  );
  const rs = await kubectl([
    'get',
    'sbxrs',
    '-n',
    namespace,
    '-o',
    'jsonpath={.items[*].spec.replicas}',
  ]);
  expect(rs.stdout).toBe('0');
});

test('a template change rolls out with maxUnavailable 0: the Ready count never drops below replicas', async () => {
  await kubectl(['scale', 'sbxdeploy/hello', '--replicas=3', '-n', namespace]);
  await eventually(() => ready().length === 3 && live().length === 3, {
    what: '3 Ready again',
    timeoutMs: 30_000,
  });
  await eventually(async () => (await deployment()).status?.availableReplicas === 3, {
    what: 'available 3',
  });
  const before = await deployment();
  const oldHash = ready()[0]!.metadata.labels!['roost.dev/template-hash'];

  // Sample the Ready count as a user of the endpoints would see it, throughout.
  let minReady = Infinity;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    samples.push(ready().length);
    minReady = Math.min(minReady, ready().length);
  }, 25);
  try {
    const applied = await kubectl(['apply', '-f', '-'], {
      input: manifest(namespace, 3, 'bonjour'),
    });
    expect(applied.stdout).toContain('configured');
    await eventually(
      async () => {
        const d = await deployment();
        const all = live();
        return (
          d.status?.updatedReplicas === 3 &&
          d.status.availableReplicas === 3 &&
          d.status.replicas === 3 &&
          all.length === 3 &&
          all.every((s) => s.metadata.labels!['roost.dev/template-hash'] !== oldHash && isReady(s))
        );
      },
      { what: 'the rollout to finish', timeoutMs: 45_000 },
    );
  } finally {
    clearInterval(sampler);
  }
  expect(samples.length).toBeGreaterThan(20);
  expect(minReady).toBeGreaterThanOrEqual(3);
  // A surge of one: never more than four Ready at once either.
  expect(Math.max(...samples)).toBeLessThanOrEqual(4);

  const after = await deployment();
  expect(after.status?.revision).toBe((before.status?.revision ?? 0) + 1);
  expect(after.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
    status: 'True',
    reason: 'NewReplicaSetAvailable',
  });
  expect(after.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({
    status: 'True',
  });
  const code = ready()[0]!.spec.function.code.inline!.files['index.mjs'];
  expect(code).toContain('bonjour');
  const events = await kubectl(['describe', 'sbxdeploy', 'hello', '-n', namespace]);
  expect(events.stdout).toContain('ScalingReplicaSet');
  expect(events.stdout).toContain('RolloutComplete');
});

test('rollback to the previous revision restores its template and reuses its ReplicaSet', async () => {
  const replicaSetsBefore = (await client.list(SandboxReplicaSets, { namespace })).items;
  expect(replicaSetsBefore).toHaveLength(2);
  const previous = replicaSetsBefore.reduce((a: SandboxReplicaSet, b) =>
    Number(a.metadata.annotations!['roost.dev/revision']) <
    Number(b.metadata.annotations!['roost.dev/revision'])
      ? a
      : b,
  );
  const revisionBefore = (await deployment()).status!.revision!;

  const annotate = await kubectl([
    'annotate',
    'sbxdeploy',
    'hello',
    'roost.dev/rollback-to=0',
    '-n',
    namespace,
  ]);
  expect(annotate.code).toBe(0);
  await eventually(
    async () => {
      const d = await deployment();
      const all = live();
      return (
        d.metadata.annotations?.['roost.dev/rollback-to'] === undefined &&
        d.status?.updatedReplicas === 3 &&
        d.status.availableReplicas === 3 &&
        all.length === 3 &&
        all.every(
          (s) =>
            s.metadata.labels!['roost.dev/template-hash'] ===
              previous.metadata.labels!['roost.dev/template-hash'] && isReady(s),
        )
      );
    },
    { what: 'the rollback to finish', timeoutMs: 45_000 },
  );
  const d = await deployment();
  expect(d.spec.template.spec.function.code.inline!.files['index.mjs']).toContain("'hello'");
  expect(d.status?.revision).toBe(revisionBefore + 1);
  const replicaSetsAfter = (await client.list(SandboxReplicaSets, { namespace })).items;
  expect(replicaSetsAfter.map((rs) => rs.metadata.name).sort()).toEqual(
    replicaSetsBefore.map((rs) => rs.metadata.name).sort(),
  );
  const reused = replicaSetsAfter.find((rs) => rs.metadata.name === previous.metadata.name)!;
  expect(reused.metadata.annotations!['roost.dev/revision']).toBe(String(revisionBefore + 1));
  const events = await kubectl([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    'reason=RollbackDone',
    '-o',
    'jsonpath={.items[*].message}',
  ]);
  expect(events.stdout).toContain('Rolled back deployment "hello" to revision 1');
});
