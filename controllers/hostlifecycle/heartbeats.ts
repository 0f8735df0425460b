// When this controller last saw each host pod's heartbeat move, by its own
// clock. As Kubernetes' node lifecycle controller does (its probeTimestamp),
// a Lease is judged by when its renewTime was observed to change, never by
// the renewTime itself: the sidecar's clock may differ from ours (even step
// back), and a renewal delayed by a paused API server arrives carrying an old
// time although the sidecar is alive. Any change is a renewal, hence a sign
// of life; the same Lease listed again is not. A host seen for the first time (at start, or a new pod
// without a Lease yet) is given the benefit of the doubt from that moment.
import type { Lease } from '../../kube/api/core.ts';

interface Seen {
  renewTime?: string;
  at: number;
}

export class Heartbeats {
  readonly #seen = new Map<string, Seen>();

  /** Records the Lease of host pod `podName` as seen at `now`. */
  observe(podName: string, lease: Lease, now: number): void {
    const renewTime = lease.spec.renewTime ?? lease.spec.acquireTime;
    const seen = this.#seen.get(podName);
    if (!seen || (renewTime !== undefined && renewTime !== seen.renewTime))
      this.#seen.set(podName, { renewTime, at: now });
  }

  /** When the heartbeat of `podName` last moved; `now` for a host not seen before. */
  lastChangeAt(podName: string, now: number): number {
    let seen = this.#seen.get(podName);
    if (!seen) this.#seen.set(podName, (seen = { at: now }));
    return seen.at;
  }

  forget(podName: string): void {
    this.#seen.delete(podName);
  }
}
