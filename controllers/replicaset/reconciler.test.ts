// The ReplicaSet reconciler against a small fake client: the unit here is the
// decision (how many to create, which to delete, when to hold back), so the
// fake only records writes. Rows: the cache, the spec, what must be written.
import { describe, expect, test } from 'vitest';
import type { KubeObject } from '../../kube/api/meta.ts';
import type { Sandbox, SandboxReplicaSet } from '../../kube/api/roost.ts';
import type { KubeClient } from '../../kube/client.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { Expectations } from '../../kube/expectations.ts';
import { Store } from '../../kube/informer.ts';
import { ReplicaSetReconciler, SANDBOXES_BY_NAMESPACE } from './reconciler.ts';

const RS_UID = 'rs-uid';

function replicaSet(replicas: number): SandboxReplicaSet {
  return {
    metadata: { name: 'fn-h', namespace: 'ns', uid: RS_UID, generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'fn' } },
      template: {
        metadata: { labels: { app: 'fn' } },
        spec: { function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } } },
      },
    },
  };
}

function sandbox(name: string, state: 'unbound' | 'starting' | 'ready', owned = true): Sandbox {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: { app: 'fn' },
      ownerReferences: owned
        ? [
            {
              apiVersion: 'roost.dev/v1alpha1',
              kind: 'SandboxReplicaSet',
              name: 'fn-h',
              uid: RS_UID,
              controller: true,
            },
          ]
        : undefined,
    },
    spec: {
      podName: state === 'unbound' ? undefined : 'p1',
      function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } },
    },
    status: {
      phase: state === 'ready' ? 'Running' : 'Starting',
      conditions:
        state === 'ready'
          ? [
              {
                type: 'Ready',
                status: 'True',
                reason: '',
                message: '',
                lastTransitionTime: '2026-01-01T00:00:00Z',
              },
            ]
          : [],
    },
  };
}

function fixture(options: { replicas: number; cache: Sandbox[]; failCreatesAfter?: number }) {
  const writes: string[] = [];
  let creates = 0;
  const fakeClient = {
    create: async (_type: unknown, object: KubeObject) => {
      creates++;
      if (options.failCreatesAfter !== undefined && creates > options.failCreatesAfter) {
        writes.push('create failed');
        throw new KubeApiError(
          403,
          { reason: 'Forbidden', message: 'exceeded quota' },
          'Cannot create Sandbox',
        );
      }
      writes.push('create');
      return { ...object, metadata: { ...object.metadata, name: `fn-h-${creates}` } };
    },
    delete: async (_type: unknown, key: { name: string }) => void writes.push(`delete ${key.name}`),
    patch: async (
      _type: unknown,
      key: { name: string },
      body: { status?: unknown; metadata?: unknown },
    ) => {
      writes.push(body.status ? 'status' : `adopt ${key.name}`);
      return { metadata: { name: key.name }, ...(body as object) };
    },
  } as unknown as KubeClient;
  const events: string[] = [];
  const recorder = {
    normal: (_o: unknown, reason: string) => events.push(reason),
    warning: (_o: unknown, reason: string) => events.push(reason),
  } as unknown as EventRecorder;
  const replicaSets = new Store<SandboxReplicaSet>();
  replicaSets.set(replicaSet(options.replicas));
  const sandboxes = new Store<Sandbox>();
  sandboxes.addIndex(SANDBOXES_BY_NAMESPACE, (s) => [s.metadata.namespace!]);
  for (const s of options.cache) sandboxes.set(s);
  const expectations = new Expectations();
  const reconciler = new ReplicaSetReconciler({
    client: fakeClient,
    recorder,
    expectations,
    replicaSets,
    sandboxes,
  });
  return { reconciler, writes, events, expectations };
}

describe('ReplicaSetReconciler', () => {
  test.each<{
    name: string;
    replicas: number;
    cache: Sandbox[];
    writes: string[];
    events: string[];
  }>([
    {
      name: 'too few: creates the difference in slow-start batches',
      replicas: 3,
      cache: [],
      writes: ['create', 'create', 'create', 'status'],
      events: ['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate'],
    },
    {
      name: 'too many: deletes the unbound one, then the not ready one, never the ready one',
      replicas: 1,
      cache: [
        sandbox('ready', 'ready'),
        sandbox('starting', 'starting'),
        sandbox('unbound', 'unbound'),
      ],
      writes: ['delete unbound', 'delete starting', 'status'],
      events: ['SuccessfulDelete', 'SuccessfulDelete'],
    },
    {
      name: 'an orphan that matches is adopted and counted',
      replicas: 1,
      cache: [sandbox('orphan', 'ready', false)],
      writes: ['adopt orphan', 'status'],
      events: [],
    },
    {
      name: 'just right: only status is written',
      replicas: 1,
      cache: [sandbox('ready', 'ready')],
      writes: ['status'],
      events: [],
    },
  ])('$name', async ({ replicas, cache, writes, events }) => {
    const f = fixture({ replicas, cache });
    await f.reconciler.reconcile('ns/fn-h');
    expect(f.writes.sort()).toEqual(writes.sort());
    expect(f.events.sort()).toEqual(events.sort());
  });

  test('a second reconcile on a cache that has not seen the creates creates nothing more', async () => {
    const f = fixture({ replicas: 3, cache: [] });
    await f.reconciler.reconcile('ns/fn-h');
    f.writes.length = 0;
    await f.reconciler.reconcile('ns/fn-h');
    expect(f.writes.filter((w) => w === 'create')).toEqual([]);
    expect(f.expectations.pending('ns/fn-h')).toEqual({ creations: 3, deletions: 0 });
  });

  test('a create that fails stops the batch, does not hold the set back, and reports ReplicaFailure', async () => {
    const f = fixture({ replicas: 10, cache: [], failCreatesAfter: 1 });
    await expect(f.reconciler.reconcile('ns/fn-h')).rejects.toThrow(
      'Cannot bring ns/fn-h to 10 replicas: Cannot create Sandbox: exceeded quota',
    );
    // Batches of 1 then 2: one success, two failures, seven never tried.
    expect(f.writes.filter((w) => w.startsWith('create'))).toEqual([
      'create',
      'create failed',
      'create failed',
    ]);
    expect(f.events).toContain('FailedCreate');
    expect(f.expectations.pending('ns/fn-h')).toEqual({ creations: 1, deletions: 0 });
  });
});
