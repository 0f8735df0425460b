// Progressive delivery as a user meets it: a default route with a canary
// policy, a new revision deployed under load, and Roost walking the steps on
// the gateway's own counts, promoting a healthy revision and rolling back one
// that fails a tenth of its requests, with Events and conditions saying why.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import { Events, SandboxRoutes, Sandboxes } from '../kube/api/resources.ts';
import type { CanaryPolicy } from '../kube/api/roost.ts';
import { countRevisions, deployVersion, waitForRevision } from './support/versions.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

const POLICY: CanaryPolicy = {
  steps: [
    { percent: 20, intervalSeconds: 2 },
    { percent: 50, intervalSeconds: 2 },
  ],
  maxErrorPercent: 5,
  minRequests: 10,
};

beforeAll(async () => {
  namespace = await createNamespace(client, 'canary');
  system = await startRoostSystem({ namespace });
  for (const name of ['healthy', 'failing']) {
    await deployVersion(client, { namespace, name, version: 'v1', replicas: 2 });
    await client.create(SandboxRoutes, {
      metadata: { name, namespace },
      spec: { deployment: name, targets: [{ revision: 1, percent: 100 }], canary: POLICY },
    });
  }
  for (const name of ['healthy', 'failing'])
    await waitForRevision(client, { namespace, name, revision: 1 });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

const canaryOf = async (name: string) =>
  (await client.get(SandboxRoutes, { namespace, name })).status?.canary;

async function reasonsOf(name: string): Promise<string[]> {
  const events = await client.list(Events, { namespace });
  return events.items
    .filter((e) => e.involvedObject?.kind === 'SandboxRoute' && e.involvedObject.name === name)
    .map((e) => e.reason ?? '');
}

/** Load on the function until `done` says stop; resolves with what answered. */
function loadUntil(name: string, done: { stop: boolean }) {
  return countRevisions(`${system.gateway.url}/fn/${namespace}/${name}`, {
    requests: 1_000_000,
    concurrency: 4,
    until: () => done.stop,
  });
}

describe('canary', () => {
  test('a healthy new revision walks the steps and is promoted', async () => {
    const done = { stop: false };
    const load = loadUntil('healthy', done);
    try {
      await deployVersion(client, { namespace, name: 'healthy', version: 'v2' });
      await eventually(async () => (await canaryOf('healthy'))?.phase === 'Promoted', {
        what: 'the canary to be promoted',
        timeoutMs: 60_000,
      });
    } finally {
      done.stop = true;
    }
    const seen = await load;
    expect(seen.failed).toBe(0);
    expect(seen.byRevision.get(2)).toBeGreaterThan(0);
    const route = await client.get(SandboxRoutes, { namespace, name: 'healthy' });
    expect(route.spec.targets).toEqual([{ revision: 2, percent: 100 }]);
    expect(route.status?.conditions?.find((c) => c.type === 'Canary')).toMatchObject({
      status: 'True',
      reason: 'Promoted',
    });
    await eventually(async () => (await reasonsOf('healthy')).includes('CanaryPromoted'), {
      what: 'the CanaryPromoted event',
    });
    expect(await reasonsOf('healthy')).toEqual(
      expect.arrayContaining(['CanaryStarted', 'CanaryStepPassed', 'CanaryPromoted']),
    );
    const after = await countRevisions(`${system.gateway.url}/fn/${namespace}/healthy`, {
      requests: 50,
      concurrency: 5,
    });
    expect([...after.byRevision.keys()]).toEqual([2]);
  }, 90_000);

  test('a new revision that fails a tenth of its requests is rolled back, without a new Sandbox for the stable one', async () => {
    const stableSandboxes = async () =>
      (
        await client.list(Sandboxes, { namespace, labelSelector: 'roost.dev/deployment=failing' })
      ).items
        .filter((s) => s.spec.function.env?.some((e) => e.name === 'VERSION' && e.value === 'v1'))
        .map((s) => s.metadata.name)
        .sort();
    const before = await stableSandboxes();
    expect(before).toHaveLength(2);

    const done = { stop: false };
    const load = loadUntil('failing', done);

    try {
      await deployVersion(client, { namespace, name: 'failing', version: 'v2', failEvery: 10 });
      await eventually(async () => (await canaryOf('failing'))?.phase === 'RolledBack', {
        what: 'the canary to be rolled back',
        timeoutMs: 60_000,
        intervalMs: 50,
      });

      // Keep the load on until the gateway has moved every request back.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      done.stop = true;
    }
    const seen = await load;
    const canary = await canaryOf('failing');
    expect(canary).toMatchObject({ phase: 'RolledBack', revision: 2, stableRevision: 1 });
    expect(canary?.message).toMatch(/requests failed \(\d+\.\d%\), above maxErrorPercent 5/);
    const route = await client.get(SandboxRoutes, { namespace, name: 'failing' });
    expect(route.status?.traffic).toBe('1=100');
    expect(route.spec.targets).toEqual([{ revision: 1, percent: 100 }]);
    expect(route.status?.conditions?.find((c) => c.type === 'Canary')).toMatchObject({
      status: 'False',
      reason: 'RolledBack',
    });
    await eventually(async () => (await reasonsOf('failing')).includes('CanaryRolledBack'), {
      what: 'the CanaryRolledBack event',
    });
    // Some requests failed at revision 2 before the rollback, none at revision 1.
    const failures = seen.log.filter((r) => r.status !== 200);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((r) => r.revision === 2)).toBe(true);
    // The stable revision kept its Sandboxes: going back started none.
    expect(await stableSandboxes()).toEqual(before);
    const after = await countRevisions(`${system.gateway.url}/fn/${namespace}/failing`, {
      requests: 100,
      concurrency: 5,
    });
    expect(after.failed).toBe(0);
    expect([...after.byRevision.keys()]).toEqual([1]);
  }, 90_000);
});
