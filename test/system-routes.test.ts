// Versions, aliases and traffic splitting as a user meets them: SandboxRoutes
// written with the API (and kubectl), requests through the real gateway to
// real sidecars, and the split measured on the responses' x-roost-revision.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import {
  CronTriggers,
  SandboxDeployments,
  SandboxEndpointsType,
  SandboxReplicaSets,
  SandboxRoutes,
} from '../kube/api/resources.ts';
import type { SandboxRoute } from '../kube/api/roost.ts';
import { REVISION_ANNOTATION } from '../kube/well-known.ts';
import { countRevisions, deployVersion, waitForRevision } from './support/versions.ts';
import { startEventSink, type EventSink } from './support/event-sink.ts';
import { roost, systemEnv } from './support/roost-cli.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace(client, 'routes');
  system = await startRoostSystem({ namespace });
  // Revision 1 then 2 of `split`; `moves` likewise; a history limit of 0 so
  // that only routes keep old revisions.
  for (const name of ['split', 'moves']) {
    await deployVersion(client, { namespace, name, version: 'v1', replicas: 2 });
    await waitForRevision(client, { namespace, name, revision: 1 });
  }
  await client.create(SandboxRoutes, route('moves', 'stable', [{ revision: 1, percent: 100 }]));
  for (const name of ['split', 'moves'])
    await deployVersion(client, { namespace, name, version: 'v2', replicas: 2 });
  for (const name of ['split', 'moves'])
    await waitForRevision(client, { namespace, name, revision: 2 });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

function route(
  deployment: string,
  name: string,
  targets: SandboxRoute['spec']['targets'],
): SandboxRoute {
  return { metadata: { name, namespace }, spec: { deployment, targets } };
}

async function routeStatus(name: string) {
  return (await client.get(SandboxRoutes, { namespace, name })).status;
}

/** Waits until the gateway answers `path` from every revision in `revisions`. */
async function untilGatewaySees(path: string, revisions: number[]) {
  await eventually(
    async () => {
      const seen = await countRevisions(system.gateway.url + path, {
        requests: 40,
        concurrency: 8,
      });
      return revisions.every((r) => (seen.byRevision.get(r) ?? 0) > 0) && seen.failed === 0;
    },
    { what: `${path} to reach revisions ${revisions.join(', ')}`, timeoutMs: 20_000 },
  );
}

describe('traffic splitting', () => {
  test('a 90/10 split over 2,000 requests lands within 3 points of each share, and every response names its revision', async () => {
    await client.create(
      SandboxRoutes,
      route('split', 'split', [
        { revision: 1, percent: 90 },
        { latestRevision: true, percent: 10 },
      ]),
    );
    await eventually(async () => (await routeStatus('split'))?.traffic === '1=90,2=10', {
      what: 'the route to resolve',
    });
    await untilGatewaySees(`/fn/${namespace}/split`, [1, 2]);

    const result = await countRevisions(`${system.gateway.url}/fn/${namespace}/split`, {
      requests: 2000,
      concurrency: 20,
    });
    expect(result.failed).toBe(0);
    // The function says its own version: the header never disagrees with it.
    expect(result.mismatched).toBe(0);
    const one = result.byRevision.get(1)! / 2000;
    const two = result.byRevision.get(2)! / 2000;
    expect(Math.abs(one - 0.9)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(two - 0.1)).toBeLessThanOrEqual(0.03);
  }, 60_000);

  test('the route resolves revisions, reports ready Sandboxes and prints its split for kubectl', async () => {
    const status = await routeStatus('split');
    expect(status?.targets).toEqual([
      expect.objectContaining({ revision: 1, percent: 90, readySandboxes: 2 }),
      expect.objectContaining({ revision: 2, percent: 10 }),
    ]);
    expect(status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    const got = await kubectl(['get', 'sbxroute', '-n', namespace, 'split']);
    expect(got.stdout).toMatch(/split\s+split\s+1=90,2=10\s+True/);
  });

  test('a revision a route names is kept and scaled for its share; the newest keeps one Sandbox', async () => {
    const replicaSets = await client.list(SandboxReplicaSets, { namespace });
    const of = (deployment: string, revision: number) =>
      replicaSets.items.find(
        (rs) =>
          rs.metadata.labels?.['roost.dev/deployment'] === deployment &&
          rs.metadata.annotations?.[REVISION_ANNOTATION] === String(revision),
      );
    // split: 90% of 2 replicas is 2; 10% is 1.
    expect(of('split', 1)?.spec.replicas).toBe(2);
    expect(of('split', 2)?.spec.replicas).toBe(1);
    // moves has no default route: revision 2 takes all replicas; the alias keeps revision 1 at 100%.
    expect(of('moves', 1)?.spec.replicas).toBe(2);
    expect(of('moves', 2)?.spec.replicas).toBe(2);
  });
});

describe('aliases and tags', () => {
  test('a tag reaches its revision at 0%, by path and by x-roost-alias', async () => {
    await client.patch(
      SandboxRoutes,
      { namespace, name: 'split' },
      {
        spec: {
          targets: [
            { revision: 1, percent: 0, tag: 'old' },
            { latestRevision: true, percent: 100, tag: 'current' },
          ],
        },
      },
    );
    await eventually(
      async () => (await routeStatus('split'))?.traffic === '1=0(old),2=100(current)',
      {
        what: 'the tags to resolve',
      },
    );
    await untilGatewaySees(`/fn/${namespace}/split@old`, [1]);
    const byPath = await countRevisions(`${system.gateway.url}/fn/${namespace}/split@old`, {
      requests: 50,
      concurrency: 5,
    });
    expect([...byPath.byRevision.keys()]).toEqual([1]);
    const byHeader = await fetch(`${system.gateway.url}/fn/${namespace}/split`, {
      headers: { 'x-roost-alias': 'old' },
    });
    expect(byHeader.headers.get('x-roost-revision')).toBe('1');
    expect(await byHeader.json()).toBe('v1');
    const status = await routeStatus('split');
    expect(status?.addresses).toContainEqual({
      tag: 'old',
      revision: 1,
      path: `/fn/${namespace}/split@old`,
    });
    // Unqualified traffic goes to 2 alone.
    const plain = await countRevisions(`${system.gateway.url}/fn/${namespace}/split`, {
      requests: 100,
      concurrency: 10,
    });
    expect([...plain.byRevision.keys()]).toEqual([2]);
  }, 40_000);

  test('an alias moves from one revision to another under load with no failed request', async () => {
    const path = `/fn/${namespace}/moves@stable`;
    await untilGatewaySees(path, [1]);
    // Without a default route, unqualified requests do not reach the alias's old revision.
    const plain = await countRevisions(`${system.gateway.url}/fn/${namespace}/moves`, {
      requests: 100,
      concurrency: 10,
    });
    expect([...plain.byRevision.keys()]).toEqual([2]);

    const load = countRevisions(system.gateway.url + path, {
      requests: 3000,
      concurrency: 10,
      trackOrder: true,
    });
    await new Promise((r) => setTimeout(r, 500));
    await client.patch(
      SandboxRoutes,
      { namespace, name: 'stable' },
      {
        spec: { targets: [{ revision: 2, percent: 100 }] },
      },
    );
    const result = await load;
    expect(result.failed).toBe(0);
    expect(result.byRevision.get(1)).toBeGreaterThan(0);
    expect(result.byRevision.get(2)).toBeGreaterThan(0);
    // Atomic: once a worker got an answer from 2, it never got one from 1 again.
    expect(result.wentBack).toBe(0);
  }, 60_000);

  test('an unknown alias is a 404 naming it; a malformed one a 400', async () => {
    const unknown = await fetch(`${system.gateway.url}/fn/${namespace}/split@nope`);
    expect(unknown.status).toBe(404);
    expect(
      ((await unknown.json()) as { error: { code: string; message: string } }).error,
    ).toMatchObject({
      code: 'ROOST_QUALIFIER_NOT_FOUND',
      message: expect.stringContaining('"nope"'),
    });
    const malformed = await fetch(`${system.gateway.url}/fn/${namespace}/split@Not_A_Label`);
    expect(malformed.status).toBe(400);
    const both = await fetch(`${system.gateway.url}/fn/${namespace}/split@old`, {
      headers: { 'x-roost-alias': 'current' },
    });
    expect(both.status).toBe(400);
  });
});

describe('a route that cannot be satisfied', () => {
  test('a route naming a missing revision is not Ready, with the reason naming it, and its alias answers 503', async () => {
    await client.create(SandboxRoutes, route('split', 'ghost', [{ revision: 9, percent: 100 }]));
    const ready = await eventually(
      async () =>
        (await routeStatus('ghost'))?.conditions?.find(
          (c) => c.type === 'Ready' && c.status === 'False',
        ),
      { what: 'ghost to be marked not Ready' },
    );
    expect(ready.reason).toBe('RevisionNotFound');
    expect(ready.message).toContain('has no revision 9 (it has 1, 2)');
    const response = await fetch(`${system.gateway.url}/fn/${namespace}/split@ghost`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'ROOST_ROUTE_NOT_READY',
    );
  });

  test('a route whose percents do not add up to 100 is refused, naming the field', async () => {
    const apply = (targets: SandboxRoute['spec']['targets']) =>
      kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'roost.dev/v1alpha1',
          kind: 'SandboxRoute',
          metadata: { name: 'bad', namespace },
          spec: { deployment: 'split', targets },
        }),
      });
    const applied = await apply([
      { revision: 1, percent: 60 },
      { revision: 2, percent: 30 },
    ]);
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('spec.targets: Invalid value');
    expect(applied.stderr).toContain('the percents of targets must add up to 100');
    const both = await apply([{ revision: 1, latestRevision: true, percent: 100 }]);
    expect(both.stderr).toContain('spec.targets[0].revision');
    expect(both.stderr).toContain('set exactly one of revision and latestRevision: true');
  });

  test('the endpoints name each Sandbox revision number', async () => {
    const endpoints = await client.get(SandboxEndpointsType, { namespace, name: 'split' });
    expect(new Set(endpoints.status?.endpoints?.map((e) => e.revisionNumber))).toEqual(
      new Set([1, 2]),
    );
    const deployment = await client.get(SandboxDeployments, { namespace, name: 'split' });
    expect(deployment.status?.revision).toBe(2);
  });
});

describe('events follow aliases', () => {
  // `evt` has revisions 1 and 2; the alias `old` keeps revision 1, and with no
  // default route unqualified calls go to revision 2. Each run reports its
  // event to the sink under its version.
  let sink: EventSink;

  beforeAll(async () => {
    sink = await startEventSink();
    await deployVersion(client, { namespace, name: 'evt', version: 'v1', sink: sink.url });
    await waitForRevision(client, { namespace, name: 'evt', revision: 1 });
    await client.create(SandboxRoutes, route('evt', 'old', [{ revision: 1, percent: 100 }]));
    await deployVersion(client, { namespace, name: 'evt', version: 'v2', sink: sink.url });
    await waitForRevision(client, { namespace, name: 'evt', revision: 2 });
    await eventually(async () => (await routeStatus('old'))?.traffic === '1=100', {
      what: 'the alias to resolve',
    });
  }, 90_000);

  afterAll(async () => {
    await sink?.stop();
  });

  /** The versions that ran the event with this marker. */
  const ranOn = (marker: string) =>
    sink.records
      .filter((r) => (JSON.parse(r.body) as { marker?: string }).marker === marker)
      .map((r) => r.key);

  async function invokeEvent(marker: string, qualifier?: string): Promise<number> {
    const query = qualifier ? `?Qualifier=${qualifier}` : '';
    const response = await fetch(
      `${system.gateway.url}/2015-03-31/functions/${namespace}:function:evt/invocations${query}`,
      {
        method: 'POST',
        headers: { 'x-amz-invocation-type': 'Event' },
        body: JSON.stringify({ marker }),
      },
    );
    return response.status;
  }

  test('an event sent to an alias runs on its revision; an unqualified one on the default', async () => {
    expect(await invokeEvent('to-alias', 'old')).toBe(202);
    expect(await invokeEvent('to-revision', '1')).toBe(202);
    expect(await invokeEvent('unqualified')).toBe(202);
    const byPath = await fetch(`${system.gateway.url}/fn/${namespace}/evt@old`, {
      method: 'POST',
      headers: { 'x-roost-invocation-type': 'Event', 'content-type': 'application/json' },
      body: JSON.stringify({ marker: 'by-path' }),
    });
    expect(byPath.status).toBe(202);
    await eventually(
      async () =>
        ['to-alias', 'to-revision', 'unqualified'].every((m) => ranOn(m).length > 0) &&
        sink.records.some((r) => r.body.includes('by-path')),
      { what: 'the four events to run', timeoutMs: 20_000 },
    );
    expect(ranOn('to-alias')).toEqual(['v1']);
    expect(ranOn('to-revision')).toEqual(['v1']);
    expect(ranOn('unqualified')).toEqual(['v2']);
    // An HTTP event carries the request as a function-URL event: its body holds the marker.
    expect(sink.records.filter((r) => r.body.includes('by-path')).map((r) => r.key)).toEqual([
      'v1',
    ]);
  }, 40_000);

  test('an event to an alias that does not exist is refused when sent, naming it', async () => {
    const response = await fetch(
      `${system.gateway.url}/2015-03-31/functions/${namespace}:function:evt/invocations?Qualifier=nope`,
      { method: 'POST', headers: { 'x-amz-invocation-type': 'Event' }, body: '{}' },
    );
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/nope/);
  });

  test('a cron trigger naming an alias fires to its revision', async () => {
    await client.create(CronTriggers, {
      metadata: { name: 'evt-old', namespace },
      spec: {
        schedule: '@every 1s',
        target: { name: 'evt', alias: 'old' },
        payload: { marker: 'cron' },
      },
    });
    try {
      const fired = await eventually(
        async () => {
          const runs = sink.records.filter((r) => r.body.includes('"cron"'));
          return runs.length >= 2 ? runs : undefined;
        },
        { what: 'two scheduled runs', timeoutMs: 30_000 },
      );
      expect(new Set(fired.map((r) => r.key))).toEqual(new Set(['v1']));
      expect(JSON.parse(fired[0]!.body)).toMatchObject({
        'detail-type': 'Scheduled Event',
        detail: { marker: 'cron' },
      });
    } finally {
      await client.delete(CronTriggers, { namespace, name: 'evt-old' });
    }
  }, 40_000);

  test('a cron trigger with a malformed alias is refused, naming the field', async () => {
    await expect(
      client.create(CronTriggers, {
        metadata: { name: 'bad-alias', namespace },
        spec: { schedule: '@every 1s', target: { name: 'evt', alias: 'Not_An_Alias' } },
      }),
    ).rejects.toThrow(/spec\.target\.alias/);
  });
});

describe('rollbacks under a route', () => {
  test('roost rollout undo to the template an alias pins makes a new revision; the alias keeps its own', async () => {
    await deployVersion(client, { namespace, name: 'undo', version: 'v1' });
    await waitForRevision(client, { namespace, name: 'undo', revision: 1 });
    await client.create(SandboxRoutes, route('undo', 'pin', [{ revision: 1, percent: 100 }]));
    await deployVersion(client, { namespace, name: 'undo', version: 'v2' });
    await waitForRevision(client, { namespace, name: 'undo', revision: 2 });

    await roost(['rollout', 'undo', 'undo', '-n', namespace], { env: systemEnv(system) });
    // Revision 1's template again, as revision 3: revision 1 is not renumbered under the alias.
    await waitForRevision(client, { namespace, name: 'undo', revision: 3 });
    const status = await routeStatus('pin');
    expect(status?.traffic).toBe('1=100');
    expect(status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const pinned = await countRevisions(`${system.gateway.url}/fn/${namespace}/undo@pin`, {
      requests: 20,
      concurrency: 4,
    });
    expect([...pinned.byRevision.keys()]).toEqual([1]);
    expect(pinned.failed).toBe(0);
    // Unqualified: the newest revision, 3, answering as revision 1 did.
    const plain = await fetch(`${system.gateway.url}/fn/${namespace}/undo`);
    expect(plain.headers.get('x-roost-revision')).toBe('3');
    expect(await plain.json()).toBe('v1');
  }, 90_000);
});

describe('a revision only a tag reaches', () => {
  test('sleeps at zero when unused, wakes for a request to its tag, and sleeps again', async () => {
    const autoscaling = { minReplicas: 1, maxReplicas: 2, scaleToZeroGraceSeconds: 3 };
    await deployVersion(client, { namespace, name: 'nap', version: 'v1', autoscaling });
    await waitForRevision(client, { namespace, name: 'nap', revision: 1 });
    // Pinned before revision 2 rolls out, which would otherwise delete it (history limit 0).
    await client.create(
      SandboxRoutes,
      route('nap', 'nap', [
        { revision: 1, percent: 0, tag: 'old' },
        { latestRevision: true, percent: 100 },
      ]),
    );
    await deployVersion(client, { namespace, name: 'nap', version: 'v2' });
    await waitForRevision(client, { namespace, name: 'nap', revision: 2 });
    const revisionOne = async () =>
      (await client.list(SandboxReplicaSets, { namespace })).items.find(
        (rs) =>
          rs.metadata.labels?.['roost.dev/deployment'] === 'nap' &&
          rs.metadata.annotations?.[REVISION_ANNOTATION] === '1',
      )!;
    await eventually(async () => (await revisionOne()).spec.replicas === 0, {
      what: 'revision 1 asleep at zero',
      timeoutMs: 20_000,
    });

    const woken = await fetch(`${system.gateway.url}/fn/${namespace}/nap@old`);
    expect(woken.status).toBe(200);
    expect(woken.headers.get('x-roost-revision')).toBe('1');
    expect(await woken.json()).toBe('v1');
    expect((await revisionOne()).spec.replicas).toBe(1);
    // The newest revision never slept.
    const plain = await fetch(`${system.gateway.url}/fn/${namespace}/nap`);
    expect(plain.headers.get('x-roost-revision')).toBe('2');

    await eventually(async () => (await revisionOne()).spec.replicas === 0, {
      what: 'revision 1 asleep again after the grace period',
      timeoutMs: 20_000,
    });
  }, 90_000);
});
