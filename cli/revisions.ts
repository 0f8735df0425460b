// A function's revisions, read from its ReplicaSets (one per template, with
// the revision number in roost.dev/revision), as `roost rollout history`
// lists them and `roost rollout undo` chooses among them.
import { createHash } from 'node:crypto';
import type { SandboxDeployment, SandboxReplicaSet } from '../kube/api/roost.ts';
import { REVISION_ANNOTATION, TEMPLATE_HASH_LABEL } from '../kube/well-known.ts';
import { normalizedTemplate, sameTemplate } from '../controllers/deployment/resources/template.ts';

export interface Revision {
  revision: number;
  templateHash: string;
  replicaSet: string;
  runtime: string;
  handler: string;
  /** Where the code is: "configMap NAME", "url URL (sha256 …)", "inline FILES (sha256 …)". */
  code: string;
  /** Sandboxes this revision has now. */
  replicas: number;
  current: boolean;
  created?: string;
}

export function revisionNumber(replicaSet: SandboxReplicaSet): number {
  const n = Number(replicaSet.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The deployment's revisions, oldest first. */
export function revisionsOf(
  deployment: SandboxDeployment,
  replicaSets: SandboxReplicaSet[],
): Revision[] {
  const owned = replicaSets.filter(
    (rs) =>
      !rs.metadata.deletionTimestamp &&
      rs.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid),
  );
  const current = newReplicaSet(deployment, owned);
  return owned
    .map((rs) => {
      const fn = rs.spec.template.spec.function;
      return {
        revision: revisionNumber(rs),
        templateHash: rs.metadata.labels?.[TEMPLATE_HASH_LABEL] ?? '',
        replicaSet: rs.metadata.name!,
        runtime: fn.runtime,
        handler: fn.handler,
        code: describeCode(fn.code),
        replicas: rs.status?.replicas ?? 0,
        current: rs === current,
        created: rs.metadata.creationTimestamp,
      };
    })
    .sort((a, b) => a.revision - b.revision);
}

function describeCode(
  code: SandboxReplicaSet['spec']['template']['spec']['function']['code'],
): string {
  if (code.configMap) return `configMap ${code.configMap.name}`;
  if (code.url) return `url ${code.url.url} (sha256 ${code.url.sha256.slice(0, 10)})`;
  const files = code.inline?.files ?? {};
  const digest = createHash('sha256')
    .update(JSON.stringify(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex');
  return `inline ${Object.keys(files).sort().join(',')} (sha256 ${digest.slice(0, 10)})`;
}

/** The ReplicaSet of the deployment's current template, if the controller has made it. */
export function newReplicaSet(
  deployment: SandboxDeployment,
  replicaSets: SandboxReplicaSet[],
): SandboxReplicaSet | undefined {
  const template = normalizedTemplate(deployment);
  return replicaSets.find(
    (rs) =>
      rs.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid) &&
      sameTemplate(rs.spec.template, template),
  );
}
