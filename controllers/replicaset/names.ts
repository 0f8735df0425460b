// Names the ReplicaSet controller gives: Sandboxes are named by the API
// server from the ReplicaSet's name plus a random suffix, as Pods of a
// ReplicaSet are, so that replacing a replica never waits on an old name.
import type { SandboxReplicaSet } from '../../kube/api/roost.ts';

export function sandboxGenerateName(replicaSet: SandboxReplicaSet): string {
  return `${replicaSet.metadata.name}-`;
}
