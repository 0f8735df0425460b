// Whether a host pod is lost, and why, as a pure function: the pod object is
// gone, it is being deleted, it has stopped running, or no renewal of its
// Lease has been seen for longer than the grace period. Also: until when a
// host that is fine now stays fine without another renewal.
//
// Silence is measured by this controller's clock from the later of the last
// renewal it saw and the moment its own contact with the API server last
// resumed: while it cannot hear the API server, nobody's silence is evidence,
// so a host is never declared lost for a pause of the API server itself.
import type { Lease, Pod } from '../../kube/api/core.ts';

/** How often to look again while this controller cannot reach the API server. */
export const CUT_OFF_RECHECK_MS = 1000;

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
  /** When this controller last saw the Lease change (or first saw the host). */
  heartbeatAt: number;
  /** Since when it has heard the API server without a break; undefined while cut off. */
  contactSince: number | undefined;
  now: number;
  graceMs: number;
}): HostState {
  const { podName, pod, lease, now, graceMs, contactSince } = options;
  if (!pod) return { lost: true, final: true, message: `host pod ${podName} no longer exists` };
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded')
    return {
      lost: true,
      final: true,
      message: `host pod ${podName} has stopped (phase ${pod.status.phase})`,
    };
  if (contactSince === undefined) return { lost: false, recheckInMs: CUT_OFF_RECHECK_MS };
  const age = now - Math.max(options.heartbeatAt, contactSince);
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
