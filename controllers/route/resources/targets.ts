// A route's spec targets resolved against the deployment's revisions: each
// revision number (or the newest, for latestRevision) to its ReplicaSet and
// its ready Sandboxes. Pure, so that what a route means is table-tested.
import type { ResolvedTarget, SandboxReplicaSet, SandboxRoute } from '../../../kube/api/roost.ts';
import { revisionOf } from '../../deployment/resources/replicaset.ts';

export interface Resolution {
  targets: ResolvedTarget[];
  /** Targets naming a revision the deployment does not have. */
  missing: number[];
  /** The newest revision, which latestRevision follows. */
  latest: ResolvedTarget | undefined;
}

/**
 * @param replicaSets the deployment's own ReplicaSets
 * @param ready ready Sandboxes by revision number
 */
export function resolveTargets(
  route: SandboxRoute,
  replicaSets: readonly SandboxReplicaSet[],
  ready: ReadonlyMap<number, number>,
): Resolution {
  const byRevision = new Map(replicaSets.map((rs) => [revisionOf(rs), rs]));
  const newest = Math.max(0, ...byRevision.keys());
  const resolve = (revision: number, percent: number, tag?: string): ResolvedTarget => ({
    revision,
    replicaSet: byRevision.get(revision)!.metadata.name!,
    percent,
    ...(tag ? { tag } : {}),
    readySandboxes: ready.get(revision) ?? 0,
  });
  const targets: ResolvedTarget[] = [];
  const missing: number[] = [];
  for (const target of route.spec.targets) {
    const revision = target.latestRevision ? newest : (target.revision ?? 0);
    if (!byRevision.has(revision)) missing.push(target.revision ?? 0);
    else targets.push(resolve(revision, target.percent ?? 0, target.tag));
  }
  return {
    targets,
    missing,
    latest: newest > 0 ? resolve(newest, 0) : undefined,
  };
}

/** "3=90,4=10" for kubectl get; a tag follows its revision: "4=0(canary)". */
export function trafficSummary(targets: readonly ResolvedTarget[]): string {
  return targets.map((t) => `${t.revision}=${t.percent}${t.tag ? `(${t.tag})` : ''}`).join(',');
}
