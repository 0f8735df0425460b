import { expect, test } from 'vitest';
import { hostState, type HostState } from './lost.ts';
import type { Lease, Pod } from '../../kube/api/core.ts';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const secondsAgo = (s: number) => NOW - s * 1000;
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
// The renewTime itself is never read: only when the controller saw it change.
const lease: Lease = {
  metadata: { name: 'h1', namespace: 'pool' },
  spec: { renewTime: '2020-01-01T00:00:00.000000Z', leaseDurationSeconds: 40 },
};

interface Row {
  name: string;
  pod: Pod | undefined;
  lease?: Lease;
  /** Seconds since the controller saw the Lease change. */
  heartbeat: number;
  /** Seconds since contact with the API server resumed; undefined: cut off now. */
  contact: number | undefined;
  want: HostState;
}

test.each<Row>([
  {
    name: 'a heartbeating pod is fine until its grace runs out',
    pod: pod(),
    lease,
    heartbeat: 5,
    contact: 600,
    want: { lost: false, recheckInMs: 15_500 },
  },
  {
    name: 'a pod that is gone is lost for good',
    pod: undefined,
    lease,
    heartbeat: 1,
    contact: 600,
    want: { lost: true, final: true, message: 'host pod h1 no longer exists' },
  },
  {
    name: 'no renewal seen for longer than the grace is lost for good',
    pod: pod(),
    lease,
    heartbeat: 21,
    contact: 600,
    want: {
      lost: true,
      final: true,
      message: 'host pod h1 has not renewed its Lease for 21s (grace 20s)',
    },
  },
  {
    name: 'silence while this controller cannot reach the API server is no evidence',
    pod: pod(),
    lease,
    heartbeat: 300,
    contact: undefined,
    want: { lost: false, recheckInMs: 1000 },
  },
  {
    name: 'after contact resumes, silence counts from the resumption, not from the last renewal',
    pod: pod(),
    lease,
    heartbeat: 40,
    contact: 12,
    want: { lost: false, recheckInMs: 8500 },
  },
  {
    name: 'a host still silent a whole grace after contact resumed is lost',
    pod: pod(),
    lease,
    heartbeat: 60,
    contact: 25,
    want: {
      lost: true,
      final: true,
      message: 'host pod h1 has not renewed its Lease for 25s (grace 20s)',
    },
  },
  {
    name: 'a pod being deleted loses its Sandboxes but its sidecar may still drain them',
    pod: pod({ deleting: true }),
    lease,
    heartbeat: 1,
    contact: 600,
    want: { lost: true, final: false, message: 'host pod h1 is being deleted' },
  },
  {
    name: 'a pod being deleted whose sidecar is silent too is lost for good',
    pod: pod({ deleting: true }),
    lease,
    heartbeat: 30,
    contact: 600,
    want: {
      lost: true,
      final: true,
      message: 'host pod h1 has not renewed its Lease for 30s (grace 20s)',
    },
  },
  {
    name: 'a pod that stopped is lost for good, even while cut off (the API said so)',
    pod: pod({ phase: 'Failed' }),
    lease,
    heartbeat: 1,
    contact: undefined,
    want: { lost: true, final: true, message: 'host pod h1 has stopped (phase Failed)' },
  },
  {
    name: 'a new pod gets the grace to create its Lease',
    pod: pod(),
    heartbeat: 10,
    contact: 600,
    want: { lost: false, recheckInMs: 10_500 },
  },
  {
    name: 'a pod that never made a Lease is lost after the grace',
    pod: pod(),
    heartbeat: 22,
    contact: 600,
    want: {
      lost: true,
      final: true,
      message: 'host pod h1 has had no Lease for 22s (grace 20s)',
    },
  },
])('$name', ({ pod, lease, heartbeat, contact, want }) => {
  expect(
    hostState({
      podName: 'h1',
      pod,
      lease,
      heartbeatAt: secondsAgo(heartbeat),
      contactSince: contact === undefined ? undefined : secondsAgo(contact),
      now: NOW,
      graceMs: 20_000,
    }),
  ).toEqual(want);
});
