// The SandboxReplicaSet for one template revision of a SandboxDeployment.
import type { SandboxDeployment, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { SandboxDeployments } from '../../../kube/api/resources.ts';
import { REVISION_ANNOTATION, TEMPLATE_HASH_LABEL } from '../../../kube/well-known.ts';
import { ownerReference } from '../../shared/owners.ts';
import { replicaSetName } from '../names.ts';
import { deploymentSelector, normalizedTemplate } from './template.ts';

export function makeReplicaSet(
  deployment: SandboxDeployment,
  options: { hash: string; revision: number; replicas: number },
): SandboxReplicaSet {
  const template = normalizedTemplate(deployment);
  const labels = { ...template.metadata?.labels, [TEMPLATE_HASH_LABEL]: options.hash };
  return {
    metadata: {
      name: replicaSetName(deployment, options.hash),
      namespace: deployment.metadata.namespace,
      labels,
      annotations: { [REVISION_ANNOTATION]: String(options.revision) },
      ownerReferences: [ownerReference(deployment, SandboxDeployments)],
    },
    spec: {
      replicas: options.replicas,
      minReadySeconds: deployment.spec.minReadySeconds ?? 0,
      selector: {
        matchLabels: {
          ...deploymentSelector(deployment).matchLabels,
          [TEMPLATE_HASH_LABEL]: options.hash,
        },
      },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
  };
}

export function revisionOf(replicaSet: SandboxReplicaSet): number {
  const n = Number(replicaSet.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function maxRevision(replicaSets: SandboxReplicaSet[]): number {
  return replicaSets.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
}

/**
 * The ReplicaSet to roll back to: revision `to`, or for 0 the newest revision
 * before the current one (kubectl rollout undo without --to-revision).
 */
export function rollbackTarget(
  replicaSets: SandboxReplicaSet[],
  to: number,
): SandboxReplicaSet | undefined {
  const byRevision = [...replicaSets].sort((a, b) => revisionOf(b) - revisionOf(a));
  if (to === 0) return byRevision[1];
  return byRevision.find((rs) => revisionOf(rs) === to);
}
