// The template a SandboxDeployment stamps into its ReplicaSets, and its hash.
// The hash is taken over the normalised template (with the deployment label
// added), which is exactly a ReplicaSet's template minus the hash label, so a
// rollback that copies a ReplicaSet's template back finds that same
// ReplicaSet again instead of making a new one.
import { createHash } from 'node:crypto';
import type { LabelSelector } from '../../../kube/api/meta.ts';
import type { SandboxDeployment, SandboxTemplate } from '../../../kube/api/roost.ts';
import { DEPLOYMENT_LABEL, TEMPLATE_HASH_LABEL } from '../../../kube/well-known.ts';
import { sameStatus } from '../../shared/status.ts';

export function deploymentSelector(deployment: SandboxDeployment): LabelSelector {
  return (
    deployment.spec.selector ?? { matchLabels: { [DEPLOYMENT_LABEL]: deployment.metadata.name! } }
  );
}

export function normalizedTemplate(deployment: SandboxDeployment): SandboxTemplate {
  const template = deployment.spec.template;
  return {
    metadata: {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [DEPLOYMENT_LABEL]: deployment.metadata.name! },
    },
    spec: template.spec,
  };
}

/** JSON with object keys sorted, so that equal templates hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * Ten hex digits; collisionCount changes it when a name is taken by something
 * else, and `revision` when a route keeps an older revision of the very same
 * template (a rollback to it is a new revision, not that one renumbered).
 */
export function templateHash(
  template: SandboxTemplate,
  collisionCount = 0,
  revision?: number,
): string {
  const hash = createHash('sha256').update(canonicalJson(template));
  if (collisionCount) hash.update(String(collisionCount));
  if (revision !== undefined) hash.update(`revision ${revision}`);
  return hash.digest('hex').slice(0, 10);
}

/** A ReplicaSet template without its hash label: what the deployment's normalised template is compared with. */
export function withoutHashLabel(template: SandboxTemplate): SandboxTemplate {
  const { [TEMPLATE_HASH_LABEL]: _hash, ...labels } = template.metadata?.labels ?? {};
  return { metadata: { ...template.metadata, labels }, spec: template.spec };
}

export function sameTemplate(a: SandboxTemplate, b: SandboxTemplate): boolean {
  return sameStatus(withoutHashLabel(a), withoutHashLabel(b));
}
