// A SandboxReplicaSet's status from the Sandboxes it owns. A Failed Sandbox
// still counts as a replica: replacing it is the job of whoever deletes it
// (the host lifecycle controller, a person), not of the ReplicaSet, which
// would otherwise create Sandboxes in a storm for a function that can never
// start. What it does is say so: the ReplicaFailure condition names the
// failure, which the SandboxDeployment and the gateway pass on.
import type { Condition } from '../../../kube/api/meta.ts';
import type { Sandbox, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { setCondition } from '../../../kube/conditions.ts';
import { selectorString } from '../../../kube/labels.ts';
import { isAvailable, isFailed, readySince } from '../../shared/sandbox-state.ts';

export type ReplicaSetStatus = NonNullable<SandboxReplicaSet['status']>;

export interface ComputedStatus {
  status: ReplicaSetStatus;
  /** When a Ready Sandbox will become available, if one will. */
  requeueAfterMs?: number;
}

export function computeStatus(options: {
  replicaSet: SandboxReplicaSet;
  /** Owned and not being deleted. */
  active: Sandbox[];
  now: number;
  /** Why the last create or delete failed, if it did. */
  failure?: { reason: string; message: string };
}): ComputedStatus {
  const { replicaSet, active, now } = options;
  const minReadySeconds = replicaSet.spec.minReadySeconds ?? 0;
  const templateLabels = replicaSet.spec.template.metadata?.labels ?? {};
  let requeueAfterMs: number | undefined;
  let ready = 0;
  let available = 0;
  let fullyLabeled = 0;
  for (const sandbox of active) {
    if (Object.entries(templateLabels).every(([k, v]) => sandbox.metadata.labels?.[k] === v))
      fullyLabeled++;
    const since = readySince(sandbox);
    if (since === undefined) continue;
    ready++;
    if (isAvailable(sandbox, minReadySeconds, now)) available++;
    else {
      const wait = since + minReadySeconds * 1000 - now;
      requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, Math.max(wait, 1) + 50);
    }
  }
  let conditions: Condition[] = (replicaSet.status?.conditions ?? []).filter(
    (c) => c.type !== 'ReplicaFailure',
  );
  const failure = options.failure ?? sandboxFailure(active);
  if (failure) {
    conditions = setCondition(
      replicaSet.status?.conditions,
      { type: 'ReplicaFailure', status: 'True', ...failure },
      new Date(now),
    );
  }
  return {
    status: {
      observedGeneration: replicaSet.metadata.generation,
      replicas: active.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      selector: selectorString(replicaSet.spec.selector),
      conditions,
    },
    requeueAfterMs,
  };
}

/** Longest Sandbox message carried into the condition: enough for an error and its first lines. */
const MESSAGE_LIMIT = 1000;

/** The first failed Sandbox's reason and message, and how many failed. */
function sandboxFailure(active: Sandbox[]): { reason: string; message: string } | undefined {
  const failed = active.filter(isFailed);
  const first = failed[0];
  if (!first) return undefined;
  const message = first.status?.message ?? 'failed';
  // The sidecar's messages name their Sandbox already ("Sandbox ns/name: ...").
  const why = message.includes(first.metadata.name ?? '')
    ? message
    : `${first.metadata.name}: ${message}`;
  return {
    reason: first.status?.reason ?? 'SandboxFailed',
    message: `${failed.length} of ${active.length} Sandboxes failed; ${
      why.length > MESSAGE_LIMIT ? `${why.slice(0, MESSAGE_LIMIT)}...` : why
    }`,
  };
}
