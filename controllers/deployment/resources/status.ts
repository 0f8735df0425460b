// A SandboxDeployment's status and conditions, as apps/v1 computes them for a
// Deployment, plus `ready` ("2/3", for kubectl get) and `revision`.
//
// metav1.Condition has no lastUpdateTime, so while a rollout progresses the
// Progressing condition's lastTransitionTime is moved forward with each step
// of progress: it is the clock that progressDeadlineSeconds runs against.
import type { Condition } from '../../../kube/api/meta.ts';
import type { SandboxDeployment, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { findCondition, kubeTime, setCondition } from '../../../kube/conditions.ts';
import { selectorString } from '../../../kube/labels.ts';
import { maxUnavailable, rolloutComplete } from './rollout.ts';
import { revisionOf } from './replicaset.ts';
import { deploymentSelector } from './template.ts';
import { WORKLOAD_DEFAULTS } from '../../../kube/api/defaults.ts';

export type DeploymentStatus = NonNullable<SandboxDeployment['status']>;

export interface StatusInput {
  deployment: SandboxDeployment;
  newRS: SandboxReplicaSet | undefined;
  all: SandboxReplicaSet[];
  /** This reconcile created or scaled a ReplicaSet. */
  acted: boolean;
  now: number;
}

export interface ComputedDeploymentStatus {
  status: DeploymentStatus;
  /** The transition this status makes, for an Event. */
  transition?: 'RolloutComplete' | 'ProgressDeadlineExceeded';
  /** When to look again for the progress deadline. */
  requeueAfterMs?: number;
}

const sum = (all: SandboxReplicaSet[], field: 'replicas' | 'readyReplicas' | 'availableReplicas') =>
  all.reduce((n, rs) => n + (rs.status?.[field] ?? 0), 0);

export function computeDeploymentStatus(input: StatusInput): ComputedDeploymentStatus {
  const { deployment, newRS, all, now } = input;
  const previous = deployment.status ?? {};
  const desired = deployment.spec.replicas ?? 1;
  const replicas = sum(all, 'replicas');
  const readyReplicas = sum(all, 'readyReplicas');
  const availableReplicas = sum(all, 'availableReplicas');
  const updatedReplicas = newRS?.status?.replicas ?? 0;
  const counts = { replicas, updatedReplicas, readyReplicas, availableReplicas };

  const date = new Date(now);
  let conditions: Condition[] = previous.conditions ?? [];
  const minAvailable = desired - maxUnavailable(deployment);
  conditions = setCondition(
    conditions,
    availableReplicas >= minAvailable
      ? {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
    date,
  );

  const rsName = newRS?.metadata.name ?? deployment.metadata.name;
  const progressing = findCondition(conditions, 'Progressing');
  const complete = !!newRS && rolloutComplete(deployment, counts);
  const progressed =
    input.acted ||
    updatedReplicas > (previous.updatedReplicas ?? 0) ||
    readyReplicas > (previous.readyReplicas ?? 0) ||
    availableReplicas > (previous.availableReplicas ?? 0);
  const deadlineMs =
    (deployment.spec.progressDeadlineSeconds ?? WORKLOAD_DEFAULTS.progressDeadlineSeconds) * 1000;
  let transition: ComputedDeploymentStatus['transition'];
  let requeueAfterMs: number | undefined;

  if (deployment.spec.paused) {
    conditions = setCondition(
      conditions,
      {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentPaused',
        message: 'Deployment is paused.',
      },
      date,
    );
  } else if (complete) {
    if (progressing?.reason !== 'NewReplicaSetAvailable') transition = 'RolloutComplete';
    conditions = setCondition(
      conditions,
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      },
      date,
    );
  } else if (
    progressed ||
    !progressing ||
    progressing.reason === 'NewReplicaSetAvailable' ||
    progressing.reason === 'DeploymentPaused'
  ) {
    conditions = setCondition(
      conditions,
      {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: `ReplicaSet "${rsName}" is progressing.`,
        lastTransitionTime: kubeTime(date),
      },
      date,
    );
    requeueAfterMs = deadlineMs + 1000;
  } else if (progressing.reason === 'ReplicaSetUpdated') {
    const since = Date.parse(progressing.lastTransitionTime);
    if (now - since > deadlineMs) {
      transition = 'ProgressDeadlineExceeded';
      conditions = setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${rsName}" has timed out progressing.`,
        },
        date,
      );
    } else {
      requeueAfterMs = since + deadlineMs - now + 1000;
    }
  }

  // apps/v1 also passes on an old ReplicaSet's failure when the new one has
  // none; here only the current revision's counts, because the gateway fails
  // requests fast on this condition, and a fixed revision that is starting
  // must not be judged by the broken one it replaces.
  const replicaFailure = findCondition(newRS?.status?.conditions, 'ReplicaFailure');
  conditions =
    replicaFailure?.status === 'True'
      ? setCondition(conditions, replicaFailure, date)
      : conditions.filter((c) => c.type !== 'ReplicaFailure');

  return {
    status: {
      observedGeneration: deployment.metadata.generation,
      ...counts,
      unavailableReplicas: Math.max(0, desired - availableReplicas),
      ready: `${readyReplicas}/${desired}`,
      revision: newRS ? revisionOf(newRS) : previous.revision,
      selector: selectorString(deploymentSelector(deployment)),
      collisionCount: previous.collisionCount,
      conditions,
    },
    transition,
    requeueAfterMs,
  };
}
