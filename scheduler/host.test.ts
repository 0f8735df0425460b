import { describe, expect, test } from 'vitest';
import { hostFromPod, hostsFromPods } from './host.ts';
import type { Lease, Pod } from '../kube/api/core.ts';

const NOW = Date.parse('2026-01-01T00:01:00Z');

const pod = (
  overrides: {
    name?: string;
    namespace?: string;
    phase?: string;
    ready?: string;
    deleting?: boolean;
    annotations?: Record<string, string>;
  } = {},
): Pod => ({
  metadata: {
    name: overrides.name ?? 'h1',
    namespace: overrides.namespace ?? 'pool',
    deletionTimestamp: overrides.deleting ? '2026-01-01T00:00:59Z' : undefined,
    annotations: overrides.annotations ?? {
      'roost.dev/capacity-memory-mib': '2048',
      'roost.dev/capacity-cpu-millis': '2000',
      'roost.dev/max-sandboxes': '16',
      'roost.dev/runtimes': 'nodejs,java',
    },
  },
  spec: { containers: [], nodeName: 'node-a' },
  status: {
    phase: (overrides.phase ?? 'Running') as 'Running',
    conditions: [{ type: 'roost.dev/host-ready', status: (overrides.ready ?? 'True') as 'True' }],
  },
});

const lease = (secondsAgo: number, durationSeconds = 40): Lease => ({
  metadata: { name: 'h1', namespace: 'pool' },
  spec: {
    renewTime: new Date(NOW - secondsAgo * 1000).toISOString(),
    leaseDurationSeconds: durationSeconds,
  },
});

const options = { now: NOW, staleAfterMs: 20_000 };

describe('hostFromPod', () => {
  test.each<{ name: string; pod: Pod; lease: Lease | undefined; unready: string | undefined }>([
    {
      name: 'a running, ready, heartbeating pod takes Sandboxes',
      pod: pod(),
      lease: lease(5),
      unready: undefined,
    },
    {
      name: 'a pod not yet running does not',
      pod: pod({ phase: 'Pending' }),
      lease: lease(5),
      unready: 'not running',
    },
    {
      name: 'a pod whose sidecar is not ready does not',
      pod: pod({ ready: 'False' }),
      lease: lease(5),
      unready: 'sidecar not ready',
    },
    {
      name: 'a pod being deleted does not',
      pod: pod({ deleting: true }),
      lease: lease(5),
      unready: 'being deleted',
    },
    { name: 'a pod without a Lease does not', pod: pod(), lease: undefined, unready: 'no Lease' },
    {
      name: 'a Lease renewed 21 s ago is stale (grace 20 s)',
      pod: pod(),
      lease: lease(21),
      unready: 'Lease stale',
    },
    {
      name: 'a Lease past its own shorter duration is stale',
      pod: pod(),
      lease: lease(12, 10),
      unready: 'Lease stale',
    },
    {
      name: 'a pod whose sidecar published no capacity does not',
      pod: pod({ annotations: {} }),
      lease: lease(1),
      unready: 'no capacity published',
    },
  ])('$name', ({ pod, lease, unready }) => {
    expect(hostFromPod(pod, lease, options).unready).toBe(unready);
  });

  test('capacity, runtimes, node and tenancy come from the pod', () => {
    const host = hostFromPod(
      {
        ...pod(),
        metadata: {
          ...pod().metadata,
          annotations: { ...pod().metadata.annotations, 'roost.dev/allowed-namespaces': 'a, b' },
        },
      },
      lease(1),
      options,
    );
    expect(host).toMatchObject({
      nodeName: 'node-a',
      runtimes: ['nodejs', 'java'],
      capacity: { memoryMiB: 2048, cpuMillis: 2000, maxSandboxes: 16 },
      allowedNamespaces: ['a', 'b'],
    });
  });

  test.each([
    { annotation: undefined, want: ['pool'] },
    { annotation: '*', want: '*' },
    { annotation: 'x,y', want: ['x', 'y'] },
  ])('tenancy $annotation reads as $want', ({ annotation, want }) => {
    const p = pod();
    if (annotation) p.metadata.annotations!['roost.dev/allowed-namespaces'] = annotation;
    expect(hostFromPod(p, lease(1), options).allowedNamespaces).toEqual(want);
  });

  test.each([
    { annotation: undefined, want: undefined },
    { annotation: 'strong', want: 'strong' },
    { annotation: 'weak', want: 'weak' },
    { annotation: 'STRONG', want: undefined },
  ])('isolation $annotation reads as $want', ({ annotation, want }) => {
    const p = pod();
    if (annotation) p.metadata.annotations!['roost.dev/isolation'] = annotation;
    expect(hostFromPod(p, lease(1), options).isolation).toBe(want);
  });
});

test('two host pods of one name in different namespaces take nothing', () => {
  const hosts = hostsFromPods(
    [pod(), pod({ namespace: 'other' }), pod({ name: 'h2' })],
    () => lease(1),
    options,
  );
  expect(hosts.map((h) => [h.name, h.unready])).toEqual([
    ['h1', 'name not unique'],
    ['h1', 'name not unique'],
    ['h2', undefined],
  ]);
});
