// Which Sandboxes a ReplicaSet deletes first when it has too many, after
// Kubernetes' ActivePods ranking: the ones that cost least to lose go first.
// Unbound before bound (it serves nothing yet), not ready before ready
// (Failed before Pending before Starting), among ready ones those sharing a
// host pod with more replicas of the same set (deleting them keeps the
// spread), then the ones ready for less time, more restarts, and the newest.
import type { Sandbox, SandboxPhase } from '../../../kube/api/roost.ts';
import { isReady, readySince } from '../../shared/sandbox-state.ts';

const PHASE_RANK: Record<SandboxPhase, number> = {
  Failed: 0,
  Pending: 1,
  Starting: 2,
  Running: 3,
  Terminating: 0,
};

function phaseRank(sandbox: Sandbox): number {
  return PHASE_RANK[sandbox.status?.phase ?? 'Pending'] ?? 1;
}

/** Negative when a should go before b. */
function compare(a: Sandbox, b: Sandbox, colocated: Map<string, number>): number {
  const boundA = a.spec.podName ? 1 : 0;
  const boundB = b.spec.podName ? 1 : 0;
  if (boundA !== boundB) return boundA - boundB;
  const readyA = isReady(a) ? 1 : 0;
  const readyB = isReady(b) ? 1 : 0;
  if (readyA !== readyB) return readyA - readyB;
  if (!readyA && phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  const crowdA = colocated.get(a.spec.podName ?? '') ?? 0;
  const crowdB = colocated.get(b.spec.podName ?? '') ?? 0;
  if (crowdA !== crowdB) return crowdB - crowdA;
  const sinceA = readySince(a) ?? 0;
  const sinceB = readySince(b) ?? 0;
  if (sinceA !== sinceB) return sinceB - sinceA;
  const restartsA = a.status?.restartCount ?? 0;
  const restartsB = b.status?.restartCount ?? 0;
  if (restartsA !== restartsB) return restartsB - restartsA;
  const createdA = a.metadata.creationTimestamp ?? '';
  const createdB = b.metadata.creationTimestamp ?? '';
  if (createdA !== createdB) return createdB.localeCompare(createdA);
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

/** The Sandboxes in the order to delete them. */
export function rankForDeletion(sandboxes: Sandbox[]): Sandbox[] {
  const colocated = new Map<string, number>();
  for (const sandbox of sandboxes)
    if (sandbox.spec.podName)
      colocated.set(sandbox.spec.podName, (colocated.get(sandbox.spec.podName) ?? 0) + 1);
  return [...sandboxes].sort((a, b) => compare(a, b, colocated));
}
