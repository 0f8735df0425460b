// Whether a host pod is lost, and why, as a pure function: the pod object is
// gone, it is being deleted, it has stopped running, or its sidecar has not
// renewed the pod's Lease for longer than the grace period. Also: until when
// a host that is fine now stays fine without another renewal.
import type { Lease, Pod } from '../../kube/api/core.ts';
import { leaseAgeMs } from '../../scheduler/host.ts';

export type HostState =
  | { lost: false; recheckInMs?: number }
  | {
      lost: true;
      /** Gone for good: no sidecar will ever remove its finalizers. */
      final: boolean;
      message: string;
    };

export function hostState(options: {
  podName: string;
  pod: Pod | undefined;
  lease: Lease | undefined;
  now: number;
  graceMs: number;
}): HostState {
  const { podName, pod, lease, now, graceMs } = options;
  if (!pod) return { lost: true, final: true, message: `host pod ${podName} no longer exists` };
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded')
    return {
      lost: true,
      final: true,
      message: `host pod ${podName} has stopped (phase ${pod.status.phase})`,
    };
  const age = lease
    ? leaseAgeMs(lease, now)
    : now - Date.parse(pod.metadata.creationTimestamp ?? new Date(now).toISOString());
  if (age > graceMs)
    return {
      lost: true,
      final: true,
      message: lease
        ? `host pod ${podName} has not renewed its Lease for ${Math.round(age / 1000)}s (grace ${graceMs / 1000}s)`
        : `host pod ${podName} has had no Lease for ${Math.round(age / 1000)}s (grace ${graceMs / 1000}s)`,
    };
  // Being deleted while its sidecar still heartbeats: the sidecar drains and
  // removes its own finalizers, but the replacements need not wait for that.
  if (pod.metadata.deletionTimestamp)
    return { lost: true, final: false, message: `host pod ${podName} is being deleted` };
  return { lost: false, recheckInMs: graceMs - age + 500 };
}
