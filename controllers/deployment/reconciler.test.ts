// The Deployment reconciler against a small fake client that records writes:
// rows of {deployment, ReplicaSets in the cache} and the writes wanted.
import { describe, expect, test } from 'vitest';
import type { KubeObject } from '../../kube/api/meta.ts';
import type {
  Sandbox,
  SandboxDeployment,
  SandboxReplicaSet,
  SandboxRoute,
} from '../../kube/api/roost.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { Store } from '../../kube/informer.ts';
import { BY_NAMESPACE, DeploymentReconciler, ROUTES_BY_DEPLOYMENT } from './reconciler.ts';
import { makeReplicaSet } from './resources/replicaset.ts';
import { normalizedTemplate, templateHash } from './resources/template.ts';

const UID = 'd-uid';

function deployment(
  code: string,
  extra: {
    annotations?: Record<string, string>;
    replicas?: number;
    autoscaling?: SandboxDeployment['spec']['autoscaling'];
  } = {},
): SandboxDeployment {
  return {
    metadata: {
      name: 'fn',
      namespace: 'ns',
      uid: UID,
      generation: 2,
      annotations: extra.annotations,
      resourceVersion: '7',
    },
    spec: {
      replicas: extra.replicas ?? 3,
      ...(extra.autoscaling ? { autoscaling: extra.autoscaling } : {}),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'i.h',
            code: { inline: { files: { 'index.mjs': code } } },
          },
        },
      },
    },
  };
}

/** A ReplicaSet as the controller made it for `code`, with spec and available replicas. */
function replicaSet(
  code: string,
  revision: number,
  replicas: number,
  available: number,
): SandboxReplicaSet {
  const d = deployment(code);
  const rs = makeReplicaSet(d, { hash: templateHash(normalizedTemplate(d)), revision, replicas });
  rs.metadata.uid = `rs-${code}`;
  rs.metadata.creationTimestamp = `2026-01-01T00:00:0${revision}Z`;
  rs.status = { replicas, readyReplicas: available, availableReplicas: available };
  return rs;
}

/** A SandboxRoute of fn: named `fn` it is the default route, else an alias. */
function route(name: string, targets: SandboxRoute['spec']['targets']): SandboxRoute {
  return { metadata: { name, namespace: 'ns' }, spec: { deployment: 'fn', targets } };
}

function fixture(d: SandboxDeployment, cache: SandboxReplicaSet[], routeList: SandboxRoute[] = []) {
  const writes: string[] = [];
  const events: string[] = [];
  const client = {
    create: async (_t: unknown, o: SandboxReplicaSet) => {
      writes.push(
        `create ${o.metadata.name === `fn-${templateHash(normalizedTemplate(d))}` ? 'new' : o.metadata.name} replicas=${o.spec.replicas} revision=${o.metadata.annotations!['roost.dev/revision']}`,
      );
      return { ...o, metadata: { ...o.metadata, uid: 'new-uid' } };
    },
    patch: async (
      _t: unknown,
      key: { name: string },
      body: {
        spec?: { replicas?: number };
        status?: unknown;
        metadata?: { annotations?: Record<string, string> };
      },
    ) => {
      if (body.status) writes.push('status');
      else if (body.spec?.replicas !== undefined)
        writes.push(`scale ${key.name} to ${body.spec.replicas}`);
      else if (body.metadata?.annotations)
        writes.push(`revision ${key.name} ${body.metadata.annotations['roost.dev/revision']}`);
      if (body.status) return {};
      // As the API server does: the whole object back, with the patch applied.
      const current = replicaSets.get(`ns/${key.name}`)!;
      return {
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata.annotations, ...body.metadata?.annotations },
        },
        spec: { ...current.spec, ...body.spec },
      };
    },
    replace: async (_t: unknown, o: SandboxDeployment) => {
      writes.push(
        `replace deployment code=${o.spec.template.spec.function.code.inline!.files['index.mjs']} annotations=${JSON.stringify(o.metadata.annotations ?? {})}`,
      );
      return o;
    },
    delete: async (_t: unknown, key: { name: string }) => void writes.push(`delete ${key.name}`),
  } as unknown as KubeClient;
  const recorder = {
    normal: (_o: KubeObject, reason: string) => events.push(reason),
    warning: (_o: KubeObject, reason: string) => events.push(reason),
  } as unknown as EventRecorder;
  const deployments = new Store<SandboxDeployment>();
  deployments.set(d);
  const replicaSets = new Store<SandboxReplicaSet>();
  replicaSets.addIndex(BY_NAMESPACE, (o) => [o.metadata.namespace!]);
  for (const rs of cache) replicaSets.set(rs);
  const sandboxes = new Store<Sandbox>();
  sandboxes.addIndex(BY_NAMESPACE, (o) => [o.metadata.namespace!]);
  const routes = new Store<SandboxRoute>();
  routes.addIndex(ROUTES_BY_DEPLOYMENT, (r) => [`${r.metadata.namespace}/${r.spec.deployment}`]);
  for (const r of routeList) routes.set(r);
  const reconciler = new DeploymentReconciler({
    client,
    recorder,
    deployments,
    replicaSets,
    sandboxes,
    routes,
  });
  return { reconciler, writes, events };
}

const hashOf = (code: string) => `fn-${templateHash(normalizedTemplate(deployment(code)))}`;

describe('DeploymentReconciler', () => {
  test.each<{
    name: string;
    d: SandboxDeployment;
    cache: SandboxReplicaSet[];
    routes?: SandboxRoute[];
    writes: string[];
    events: string[];
  }>([
    {
      name: 'a new deployment gets its first ReplicaSet at full size, revision 1',
      d: deployment('v1'),
      cache: [],
      writes: ['create new replicas=3 revision=1', 'status'],
      events: ['ScalingReplicaSet'],
    },
    {
      name: 'a template change surges one new replica (maxSurge 1, maxUnavailable 0)',
      d: deployment('v2'),
      cache: [replicaSet('v1', 1, 3, 3)],
      writes: ['create new replicas=1 revision=2', 'status'],
      events: ['ScalingReplicaSet'],
    },
    {
      name: 'once the new replica is available, one old one goes',
      d: deployment('v2'),
      cache: [replicaSet('v1', 1, 3, 3), replicaSet('v2', 2, 1, 1)],
      writes: [`scale ${hashOf('v1')} to 2`, 'status'],
      events: ['ScalingReplicaSet'],
    },
    {
      name: 'going back to an old template reuses its ReplicaSet with a new revision number',
      d: deployment('v1'),
      cache: [replicaSet('v1', 1, 0, 0), replicaSet('v2', 2, 3, 3)],
      writes: [`revision ${hashOf('v1')} 3`, `scale ${hashOf('v1')} to 1`, 'status'],
      events: ['ScalingReplicaSet'],
    },
    {
      name: 'rollback-to=0 copies the previous revision into the spec and removes the annotation, in one write',
      d: deployment('v2', { annotations: { 'roost.dev/rollback-to': '0', keep: 'me' } }),
      cache: [replicaSet('v1', 1, 0, 0), replicaSet('v2', 2, 3, 3)],
      writes: ['replace deployment code=v1 annotations={"keep":"me"}'],
      events: ['RollbackDone'],
    },
    {
      name: 'rollback to a revision that does not exist only removes the annotation',
      d: deployment('v2', { annotations: { 'roost.dev/rollback-to': '9' } }),
      cache: [replicaSet('v2', 1, 3, 3)],
      writes: ['replace deployment code=v2 annotations={}'],
      events: ['RollbackRevisionNotFound'],
    },
    {
      name: 'a finished rollout deletes revisions beyond the history limit (10 by default, here the 11th-oldest)',
      d: deployment('v12', { replicas: 1 }),
      cache: [
        ...Array.from({ length: 11 }, (_, i) => replicaSet(`v${i + 1}`, i + 1, 0, 0)),
        replicaSet('v12', 12, 1, 1),
      ],
      writes: [`delete ${hashOf('v1')}`, 'status'],
      events: ['RolloutComplete'],
    },
    {
      name: 'history limits skip a revision a route names: the oldest unrouted one goes instead',
      d: deployment('v12', { replicas: 1 }),
      cache: [
        ...Array.from({ length: 11 }, (_, i) => replicaSet(`v${i + 1}`, i + 1, 0, 0)),
        replicaSet('v12', 12, 1, 1),
      ],
      routes: [route('beta', [{ revision: 1, percent: 100 }])],
      writes: [`scale ${hashOf('v1')} to 1`, 'status'],
      events: ['ScalingReplicaSet', 'RolloutComplete'],
    },
    {
      name: 'a revision at 90% in the default route is not scaled down by the rollout, and keeps 90% of replicas',
      d: deployment('v2', { replicas: 10 }),
      cache: [replicaSet('v1', 1, 10, 10), replicaSet('v2', 2, 1, 1)],
      routes: [
        route('fn', [
          { revision: 1, percent: 90 },
          { latestRevision: true, percent: 10 },
        ]),
      ],
      writes: [`scale ${hashOf('v1')} to 9`, 'status'],
      events: ['ScalingReplicaSet', 'RolloutComplete'],
    },
    {
      name: 'the newest revision keeps one Sandbox when the default route gives it nothing',
      d: deployment('v2', { replicas: 3 }),
      cache: [replicaSet('v1', 1, 3, 3)],
      routes: [route('fn', [{ revision: 1, percent: 100 }])],
      writes: ['create new replicas=1 revision=2', 'status'],
      events: ['ScalingReplicaSet'],
    },
    {
      name: 'a revision reached only by a tag keeps one Sandbox',
      d: deployment('v2', { replicas: 3 }),
      cache: [replicaSet('v1', 1, 0, 0), replicaSet('v2', 2, 3, 3)],
      routes: [
        route('fn', [
          { revision: 1, percent: 0, tag: 'old' },
          { revision: 2, percent: 100 },
        ]),
      ],
      writes: [`scale ${hashOf('v1')} to 1`, 'status'],
      events: ['ScalingReplicaSet', 'RolloutComplete'],
    },
    {
      name: 'a rollback to the template of a revision an alias pins makes a new revision; the pinned one keeps its number',
      d: deployment('v1', { replicas: 2 }),
      cache: [replicaSet('v1', 1, 2, 2), replicaSet('v2', 2, 2, 2)],
      routes: [route('stable', [{ revision: 1, percent: 100 }])],
      // Not fn-<hash of v1>, which revision 1 keeps.
      writes: [
        `create fn-${templateHash(normalizedTemplate(deployment('v1')), 0, 3)} replicas=1 revision=3`,
        'status',
      ],
      events: ['ScalingReplicaSet'],
    },
  ])('$name', async ({ d, cache, routes, writes, events }) => {
    const f = fixture(d, cache, routes);
    await f.reconciler.reconcile('ns/fn');
    expect(f.writes).toEqual(writes);
    expect(f.events).toEqual(events);
  });
});

describe('a revision reached only by a tag at 0%, with autoscaling', () => {
  const tagged = [
    route('fn', [
      { revision: 1, percent: 0, tag: 'old' },
      { revision: 2, percent: 100 },
    ]),
  ];
  const autoscaling = { minReplicas: 0, maxReplicas: 5, scaleToZeroGraceSeconds: 60 };

  test('goes to zero when no gateway sent it a request within the grace period', async () => {
    const d = deployment('v2', {
      replicas: 3,
      autoscaling,
      annotations: { 'roost.dev/revision-1-used-at': new Date(Date.now() - 61_000).toISOString() },
    });
    const f = fixture(d, [replicaSet('v1', 1, 1, 1), replicaSet('v2', 2, 3, 3)], tagged);
    const result = await f.reconciler.reconcile('ns/fn');
    expect(f.writes).toEqual([`scale ${hashOf('v1')} to 0`, 'status']);
    expect(result?.requeueAfterMs).toBeUndefined();
  });

  test('wakes (one Sandbox) when a gateway says it sent it a request, and is looked at again when the grace ends', async () => {
    const d = deployment('v2', {
      replicas: 3,
      autoscaling,
      annotations: { 'roost.dev/revision-1-used-at': new Date(Date.now() - 1000).toISOString() },
    });
    const f = fixture(d, [replicaSet('v1', 1, 0, 0), replicaSet('v2', 2, 3, 3)], tagged);
    const result = await f.reconciler.reconcile('ns/fn');
    expect(f.writes).toEqual([`scale ${hashOf('v1')} to 1`, 'status']);
    expect(result?.requeueAfterMs).toBeGreaterThan(55_000);
    expect(result?.requeueAfterMs).toBeLessThanOrEqual(59_000);
  });
});
