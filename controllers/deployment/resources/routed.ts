// What the SandboxRoutes of one deployment ask of its revisions. A revision a
// route names is "routed": the rollout leaves it alone (it is neither an old
// revision to scale down nor history to delete) and it keeps Sandboxes for
// its share of the deployment's replicas, which the autoscaler sets from the
// function's whole traffic. The newest revision keeps at least one Sandbox
// while the deployment has any, so that traffic (a canary step) can move to
// it without a cold start.
import type { SandboxRoute } from '../../../kube/api/roost.ts';

export interface RevisionShare {
  /** The largest percent any route gives it. */
  percent: number;
  /** Some route reaches it by tag, whatever its percent. */
  tagged: boolean;
}

/** Routed revisions by number, from the routes' resolved targets and the numbers their specs name. */
export function routedRevisions(routes: readonly SandboxRoute[]): Map<number, RevisionShare> {
  const shares = new Map<number, RevisionShare>();
  for (const route of routes) {
    if (route.metadata.deletionTimestamp) continue;
    // Within one route, two targets on one revision (3, and latest while 3 is newest) add up.
    const ofRoute = new Map<number, RevisionShare>();
    const add = (revision: number, percent: number, tagged: boolean) => {
      const share = ofRoute.get(revision) ?? { percent: 0, tagged: false };
      ofRoute.set(revision, { percent: share.percent + percent, tagged: share.tagged || tagged });
    };
    for (const target of route.status?.targets ?? [])
      add(target.revision, target.percent, !!target.tag);
    // A revision the spec names before the route controller resolved it is kept too.
    for (const target of route.spec.targets ?? [])
      if (target.revision && !ofRoute.has(target.revision))
        add(target.revision, target.percent ?? 0, !!target.tag);
    for (const [revision, share] of ofRoute) {
      const seen = shares.get(revision) ?? { percent: 0, tagged: false };
      shares.set(revision, {
        percent: Math.max(seen.percent, share.percent),
        tagged: seen.tagged || share.tagged,
      });
    }
  }
  return shares;
}

/**
 * Sandboxes for a routed revision out of the deployment's `replicas`: its
 * share rounded up, at least one while it takes any traffic. A revision
 * reached only by its tag keeps one while `tagAwake` (always, without
 * autoscaling; with it, while requests for it are recent), and goes to zero
 * otherwise: the activator holds its next request and wakes it.
 */
export function replicasForShare(
  replicas: number,
  share: RevisionShare | undefined,
  tagAwake = true,
): number {
  if (replicas === 0 || !share) return 0;
  if (share.percent > 0) return Math.max(1, Math.ceil((replicas * share.percent) / 100));
  return share.tagged && tagAwake ? 1 : 0;
}

/** A revision only a tag reaches, at 0% in every route. */
export function isTagOnly(share: RevisionShare | undefined): boolean {
  return share !== undefined && share.percent === 0 && share.tagged;
}

/**
 * Until when (Unix ms) a tag-only revision of an autoscaled deployment stays
 * awake: the grace period after a gateway last said it sent it a request.
 * Without autoscaling nothing would wake it, so it never sleeps (Infinity).
 */
export function tagAwakeUntil(
  autoscaled: boolean,
  usedAt: string | undefined,
  scaleToZeroGraceMs: number,
): number {
  if (!autoscaled) return Infinity;
  const used = Date.parse(usedAt ?? '');
  return Number.isFinite(used) ? used + scaleToZeroGraceMs : 0;
}

/**
 * What the rollout of the newest revision aims for: all of `replicas` when no
 * default route splits the traffic, else its share, and never less than one
 * while the deployment has replicas.
 */
export function newestRevisionReplicas(
  replicas: number,
  hasDefaultRoute: boolean,
  share: RevisionShare | undefined,
): number {
  if (!hasDefaultRoute) return replicas;
  return Math.max(Math.min(1, replicas), replicasForShare(replicas, share));
}
