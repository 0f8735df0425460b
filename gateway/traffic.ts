// Where a request for a function goes among its revisions: the one place that
// reads SandboxRoutes in the gateway. resolveTarget() turns (namespace, name,
// qualifier) into a target: the default route's split for an unqualified
// request, an alias's split, a tag's or a revision number's single revision,
// or (a function without a default route, as before routes existed) every
// endpoint except revisions that only aliases and tags keep. The HTTP path
// (`@<qualifier>`, x-roost-alias) and the Invoke API's Qualifier both call it.
// chooseRevision() then draws one revision by weight for one request.
import { GatewayError, functionNotFound } from './errors.ts';
import type { EndpointPool, FunctionEntry, FunctionTable } from './function-table.ts';
import { isTagOnly, routedRevisions } from '../controllers/deployment/resources/routed.ts';

export interface WeightedRevision {
  revision: number;
  percent: number;
}

export interface TrafficTarget {
  entry: FunctionEntry;
  /** The revisions and their weights; undefined: the pool `unrouted`. */
  split: WeightedRevision[] | undefined;
  /** Without a split: the revisions an unqualified request must not reach. */
  unrouted: EndpointPool | undefined;
  /** What was asked for, to name in errors: "ns/name@canary". */
  description: string;
  /** One revision that only a tag reaches at 0% (see EndpointPool.wakeable). */
  wakeable?: boolean;
}

export const qualifierNotFound = (namespace: string, name: string, qualifier: string) =>
  new GatewayError(
    404,
    'ROOST_QUALIFIER_NOT_FOUND',
    `Function ${namespace}/${name} has no alias, tag or routed revision "${qualifier}"`,
  );

export const routeNotReady = (description: string) =>
  new GatewayError(
    503,
    'ROOST_ROUTE_NOT_READY',
    `${description} has no resolved revision yet: see its SandboxRoute's Ready condition`,
    { retryAfterSeconds: 1 },
  );

/** The traffic target of `namespace/name[@qualifier]`, or throws a 404 (or 503 for an alias not resolved yet). */
export function resolveTarget(
  table: FunctionTable,
  namespace: string,
  name: string,
  qualifier?: string,
): TrafficTarget {
  const entry = table.get(namespace, name);
  if (!entry) throw functionNotFound(namespace, name);
  const description =
    qualifier === undefined ? `${namespace}/${name}` : `${namespace}/${name}@${qualifier}`;
  const single = (revision: number): TrafficTarget => ({
    entry,
    split: [{ revision, percent: 100 }],
    unrouted: undefined,
    description,
    wakeable: isTagOnly(routedRevisions([...entry.routes.values()]).get(revision)),
  });

  if (qualifier === undefined) {
    const targets = entry.routes.get(name)?.status?.targets ?? [];
    if (targets.length > 0) return { entry, split: targets, unrouted: undefined, description };
    return {
      entry,
      split: undefined,
      unrouted: { excluding: pinnedElsewhere(entry) },
      description,
    };
  }
  if (qualifier === '$LATEST') {
    const latest = entry.deployment?.status?.revision;
    if (!latest) throw routeNotReady(description);
    return single(latest);
  }
  if (/^[0-9]+$/.test(qualifier)) {
    const revision = Number(qualifier);
    if (!isReachable(entry, revision)) throw qualifierNotFound(namespace, name, qualifier);
    return single(revision);
  }
  const alias = qualifier !== name ? entry.routes.get(qualifier) : undefined;
  if (alias) {
    const targets = alias.status?.targets ?? [];
    if (targets.length === 0) throw routeNotReady(description);
    return { entry, split: targets, unrouted: undefined, description };
  }
  for (const route of entry.routes.values()) {
    const tagged = route.status?.targets?.find((t) => t.tag === qualifier);
    if (tagged) return single(tagged.revision);
  }
  throw qualifierNotFound(namespace, name, qualifier);
}

/** One request's endpoints: a revision drawn by weight, or the unrouted pool. */
export function chooseRevision(
  target: TrafficTarget,
  random: () => number = Math.random,
): EndpointPool {
  const split = target.split;
  if (!split) return target.unrouted ?? {};
  if (target.wakeable) return { revision: split[0]!.revision, wakeable: true };
  const total = split.reduce((n, t) => n + t.percent, 0);
  // A split of zeros is a tag's single revision at 0%: it still answers.
  if (total === 0) return { revision: split[0]!.revision };
  let draw = random() * total;
  for (const t of split) {
    if (t.percent === 0) continue;
    draw -= t.percent;
    if (draw < 0) return { revision: t.revision };
  }
  return { revision: split.findLast((t) => t.percent > 0)!.revision };
}

/**
 * Revisions that aliases and tags keep but that an unqualified request of a
 * function without a default route must not reach: all routed revisions but
 * the newest, which takes everything as it always has.
 */
function pinnedElsewhere(entry: FunctionEntry): ReadonlySet<number> {
  const latest = entry.deployment?.status?.revision;
  const pinned = new Set<number>();
  for (const route of entry.routes.values())
    for (const t of route.status?.targets ?? []) if (t.revision !== latest) pinned.add(t.revision);
  return pinned;
}

/** A revision a request may name: the newest, or one a route keeps. */
function isReachable(entry: FunctionEntry, revision: number): boolean {
  if (entry.deployment?.status?.revision === revision) return true;
  for (const route of entry.routes.values())
    if (route.status?.targets?.some((t) => t.revision === revision)) return true;
  return false;
}
