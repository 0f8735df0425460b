import { expect, test } from 'vitest';
import { hostState, type HostState } from './lost.ts';
import type { Lease, Pod } from '../../kube/api/core.ts';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const pod = (extra: { deleting?: boolean; phase?: string } = {}): Pod => ({
  metadata: {
    name: 'h1',
    namespace: 'pool',
    creationTimestamp: '2026-01-01T00:09:50Z',
    deletionTimestamp: extra.deleting ? '2026-01-01T00:09:59Z' : undefined,
  },
  spec: { containers: [] },
  status: { phase: (extra.phase ?? 'Running') as 'Running' },
});
const lease = (secondsAgo: number): Lease => ({
  metadata: { name: 'h1', namespace: 'pool' },
  spec: { renewTime: new Date(NOW - secondsAgo * 1000).toISOString(), leaseDurationSeconds: 40 },
});

test.each<{ name: string; pod: Pod | undefined; lease: Lease | undefined; want: HostState }>([
  {
    name: 'a heartbeating pod is fine until its grace runs out',
    pod: pod(),
    lease: lease(5),
    want: { lost: false, recheckInMs: 15_500 },
  },
  {
    name: 'a pod that is gone is lost for good',
    pod: undefined,
    lease: lease(1),
    want: { lost: true, final: true, message: 'host pod h1 no longer exists' },
  },
  {
    name: 'a Lease not renewed for longer than the grace is lost for good',
    pod: pod(),
    lease: lease(21),
    want: {
      lost: true,
      final: true,
      message: 'host pod h1 has not renewed its Lease for 21s (grace 20s)',
    },
  },
  {
    name: 'a pod being deleted loses its Sandboxes but its sidecar may still drain them',
    pod: pod({ deleting: true }),
    lease: lease(1),
    want: { lost: true, final: false, message: 'host pod h1 is being deleted' },
  },
  {
    name: 'a pod being deleted whose sidecar is silent too is lost for good',
    pod: pod({ deleting: true }),
    lease: lease(30),
    want: {
      lost: true,
      final: true,
      message: 'host pod h1 has not renewed its Lease for 30s (grace 20s)',
    },
  },
  {
    name: 'a pod that stopped is lost for good',
    pod: pod({ phase: 'Failed' }),
    lease: lease(1),
    want: { lost: true, final: true, message: 'host pod h1 has stopped (phase Failed)' },
  },
  {
    name: 'a new pod gets the grace to create its Lease',
    pod: pod(),
    lease: undefined,
    want: { lost: false, recheckInMs: 10_500 },
  },
])('$name', ({ pod, lease, want }) => {
  expect(hostState({ podName: 'h1', pod, lease, now: NOW, graceMs: 20_000 })).toEqual(want);
});
