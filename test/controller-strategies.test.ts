// End to end: the Recreate strategy, revisionHistoryLimit and paused, with
// `roost controller` as a real process and the stand-in for sidecars.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Sandbox, SandboxDeployment } from '../kube/api/roost.ts';
import { SandboxDeployments, SandboxReplicaSets, Sandboxes } from '../kube/api/resources.ts';
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

const HASH = 'roost.dev/template-hash';
const isReady = (s: Sandbox) =>
  !s.metadata.deletionTimestamp &&
  s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

function manifest(greeting: string, extra = '') {
  return `
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata: { name: fn, namespace: ${namespace} }
spec:
  replicas: 2
  revisionHistoryLimit: 1
  strategy: { type: Recreate }
${extra}
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        code: { inline: { files: { index.mjs: "export const handler = async () => '${greeting}';" } } }
`;
}

async function apply(greeting: string, extra = '') {
  const result = await kubectl(['apply', '-f', '-'], { input: manifest(greeting, extra) });
  expect(result.stderr).toBe('');
}

const deployment = (): Promise<SandboxDeployment> =>
  client.get(SandboxDeployments, { namespace, name: 'fn' });

async function rolledOut(greeting: string) {
  await eventually(
    async () => {
      const d = await deployment();
      const all = sandboxes.store.list();
      return (
        d.status?.availableReplicas === 2 &&
        d.status.updatedReplicas === 2 &&
        all.length === 2 &&
        all.every(
          (s) => isReady(s) && s.spec.function.code.inline!.files['index.mjs']!.includes(greeting),
        )
      );
    },
    { what: `the rollout of ${greeting}`, timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'strategies');
  pool = await SidecarStandIn.start({ client, namespace, hosts: [{ name: 'a' }, { name: 'b' }] });
  sandboxes = new Informer(client, Sandboxes, { namespace });
  await sandboxes.start();
  controller = startController({ namespace, identity: 'strategies' });
});

afterAll(async () => {
  await controller?.stop();
  await sandboxes?.stop();
  await pool?.stop();
  client?.close();
});

test('Recreate never runs old and new Sandboxes at once, and old revisions beyond the history limit are deleted', async () => {
  await apply('one');
  await rolledOut('one');

  // Sample: at no moment may Sandboxes of two revisions exist together.
  let mixed = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    samples++;
    const hashes = new Set(sandboxes.store.list().map((s) => s.metadata.labels![HASH]));
    if (hashes.size > 1) mixed++;
  }, 20);
  try {
    await apply('two');
    await rolledOut('two');
  } finally {
    clearInterval(sampler);
  }
  expect(samples).toBeGreaterThan(10);
  expect(mixed).toBe(0);

  await apply('three');
  await rolledOut('three');
  // History limit 1: the current ReplicaSet and one old one.
  await eventually(
    async () => (await client.list(SandboxReplicaSets, { namespace })).items.length === 2,
    {
      what: 'two ReplicaSets left',
    },
  );
  const revisions = (await client.list(SandboxReplicaSets, { namespace })).items
    .map((rs) => Number(rs.metadata.annotations!['roost.dev/revision']))
    .sort();
  expect(revisions).toEqual([2, 3]);
}, 90_000);

test('a paused deployment does not roll out a template change until resumed', async () => {
  await apply('three', '  paused: true');
  await eventually(
    async () =>
      (await deployment()).status?.conditions?.find((c) => c.type === 'Progressing')?.reason ===
      'DeploymentPaused',
    { what: 'Progressing=Unknown/DeploymentPaused' },
  );
  await apply('four', '  paused: true');
  await new Promise((r) => setTimeout(r, 2000));
  expect((await client.list(SandboxReplicaSets, { namespace })).items).toHaveLength(2);
  expect(
    sandboxes.store
      .list()
      .every((s) => s.spec.function.code.inline!.files['index.mjs']!.includes('three')),
  ).toBe(true);

  await apply('four');
  await rolledOut('four');
  expect((await deployment()).status?.revision).toBe(4);
}, 60_000);
