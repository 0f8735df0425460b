// Progressive delivery as a user meets it: a default route with a canary
// policy, a new revision deployed under load, and Roost walking the steps on
// the gateway's own counts, promoting a healthy revision and rolling back one
// that fails a tenth of its requests, with Events and conditions saying why;
// and the CLI that shows and sets the split and decides a canary by hand.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import { Events, SandboxRoutes, Sandboxes } from '../kube/api/resources.ts';
import type { CanaryPolicy } from '../kube/api/roost.ts';
import { countRevisions, deployVersion, waitForRevision } from './support/versions.ts';
import { killLeftovers, roost, systemEnv } from './support/roost-cli.ts';

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
  killLeftovers();
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
      // Each step's starting counts are in the status: a new leader would judge the same window.
      const stepping = await eventually(
        async () => {
          const canary = await canaryOf('healthy');
          return canary?.phase === 'Progressing' && canary.stepBaseline ? canary : undefined;
        },
        { what: 'a step with its baseline recorded', timeoutMs: 30_000 },
      );
      expect(stepping.stepBaseline!.requests).toBeGreaterThanOrEqual(0);
      expect(stepping.stepBaseline!.latencyBuckets.length).toBeGreaterThan(0);
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

describe('roost traffic and roost rollout promote|abort', () => {
  const run = (args: string[]) => roost([...args, '-n', namespace], { env: systemEnv(system) });

  test('traffic set writes the split and its tags; traffic shows each revision with its rate, errors and p99', async () => {
    await deployVersion(client, { namespace, name: 'cli', version: 'v1' });
    await waitForRevision(client, { namespace, name: 'cli', revision: 1 });
    // Pinned before v2 arrives, revision 1 outlives the history limit of 0.
    const pin = await run(['traffic', 'set', 'cli', '1=100']);
    expect(pin.code, pin.stderr).toBe(0);
    await deployVersion(client, { namespace, name: 'cli', version: 'v2' });
    await waitForRevision(client, { namespace, name: 'cli', revision: 2 });

    const refused = await run(['traffic', 'set', 'cli', '1=90']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('The shares add up to 90%, not 100%');

    const set = await run(['traffic', 'set', 'cli', '1=90', 'latest=10', '--tag', 'canary=latest']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(
      `sandboxroute ${namespace}/cli set: 1=90 latest=10 --tag canary=latest`,
    );
    await eventually(
      async () =>
        (await client.get(SandboxRoutes, { namespace, name: 'cli' })).status?.traffic ===
        '1=90,2=10(canary)',
      { what: 'the split to resolve' },
    );
    await eventually(
      async () => {
        const r = await countRevisions(`${system.gateway.url}/fn/${namespace}/cli@canary`, {
          requests: 5,
          concurrency: 1,
        });
        return r.byRevision.get(2) === 5;
      },
      { what: 'the gateway to know the tag' },
    );
    await countRevisions(`${system.gateway.url}/fn/${namespace}/cli`, {
      requests: 200,
      concurrency: 4,
    });

    const shown = await run(['traffic', 'cli', '--window', '0', '-o', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    const data = JSON.parse(shown.stdout) as {
      route: string;
      revisions: {
        revision: number;
        percent: number;
        tag: string | null;
        invocations: number;
        errors: number;
      }[];
    };
    expect(data.route).toBe('cli');
    expect(data.revisions).toEqual([
      expect.objectContaining({ revision: 1, percent: 90, tag: null, errors: 0 }),
      expect.objectContaining({ revision: 2, percent: 10, tag: 'canary', errors: 0 }),
    ]);
    expect(data.revisions[0]!.invocations).toBeGreaterThan(data.revisions[1]!.invocations);
    const table = await run(['traffic', 'cli', '--window', '1s']);
    expect(table.stdout).toMatch(
      /^REVISION\s+PERCENT\s+TAG\s+READY\s+RATE\s+ERRORS\s+P99\n1\s+90%\s+/,
    );
    expect(table.stdout).toMatch(/\n2\s+10%\s+canary\s+1\s+[0-9.]+\/s\s+0\/\d+\s+/);
  }, 90_000);

  test('rollout abort sends a canary in progress back to the stable revision; promote then moves it to the new one', async () => {
    await deployVersion(client, { namespace, name: 'decide', version: 'v1' });
    await client.create(SandboxRoutes, {
      metadata: { name: 'decide', namespace },
      spec: {
        deployment: 'decide',
        targets: [{ revision: 1, percent: 100 }],
        canary: { steps: [{ percent: 30, intervalSeconds: 3600 }] },
      },
    });
    await waitForRevision(client, { namespace, name: 'decide', revision: 1 });
    const early = await run(['rollout', 'abort', 'decide']);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('has no canary in progress to abort');

    await deployVersion(client, { namespace, name: 'decide', version: 'v2' });
    await eventually(
      async () =>
        (await client.get(SandboxRoutes, { namespace, name: 'decide' })).status?.traffic ===
        '1=70,2=30',
      { what: 'the canary to take its first step', timeoutMs: 60_000 },
    );
    const aborted = await run(['rollout', 'abort', 'decide']);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toBe(`${namespace}/decide: canary aborted; traffic 1=100\n`);
    expect((await canaryOf('decide'))?.message).toBe('aborted by hand');

    const promoted = await run(['rollout', 'promote', 'decide']);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toBe(`${namespace}/decide: canary promoted; traffic 2=100\n`);
    const route = await client.get(SandboxRoutes, { namespace, name: 'decide' });
    expect(route.spec.targets).toEqual([{ revision: 2, percent: 100 }]);
  }, 90_000);
});
