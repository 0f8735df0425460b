// What each revision of each function answered at this gateway: requests,
// failures (5xx) and a latency histogram, counted since the gateway started.
// The route controller reads them from every gateway (REVISION_STATS_PATH),
// sums them, and judges a canary step by the difference between two reads,
// so no Prometheus is needed and a gateway's restart only loses its own share.

export const REVISION_STATS_PATH = '/internal/revisions';

/** Upper bounds of the latency buckets, in milliseconds; a last bucket holds the rest. */
export const LATENCY_BUCKETS_MS = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
] as const;

export interface RevisionCounts {
  requests: number;
  /** Responses with a 5xx status, the function's failures and timeouts included. */
  errors: number;
  /** Per bucket of LATENCY_BUCKETS_MS, then one for longer: not cumulative. */
  latencyBuckets: number[];
}

export interface RevisionStatsReport {
  gateway: string;
  revisions: ({ namespace: string; name: string; revision: number } & RevisionCounts)[];
}

export function emptyCounts(): RevisionCounts {
  return {
    requests: 0,
    errors: 0,
    latencyBuckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
  };
}

interface RevisionEntry {
  namespace: string;
  name: string;
  revision: number;
  counts: RevisionCounts;
}

export class RevisionStats {
  /** By namespace, name and revision: nested rather than keyed by a joined string, which would be built on every request. */
  readonly #counts = new Map<string, Map<string, Map<number, RevisionEntry>>>();

  record(namespace: string, name: string, revision: number, status: number, ms: number): void {
    let byName = this.#counts.get(namespace);
    if (!byName) this.#counts.set(namespace, (byName = new Map()));
    let byRevision = byName.get(name);
    if (!byRevision) byName.set(name, (byRevision = new Map()));
    let entry = byRevision.get(revision);
    if (!entry)
      byRevision.set(revision, (entry = { namespace, name, revision, counts: emptyCounts() }));
    entry.counts.requests++;
    if (status >= 500) entry.counts.errors++;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_MS.length && !(ms <= LATENCY_BUCKETS_MS[bucket]!)) bucket++;
    entry.counts.latencyBuckets[bucket]!++;
  }

  /** Forgets functions that are gone, so the map holds only live ones. */
  retain(live: (namespace: string, name: string) => boolean): void {
    for (const [namespace, byName] of this.#counts) {
      for (const name of byName.keys()) if (!live(namespace, name)) byName.delete(name);
      if (byName.size === 0) this.#counts.delete(namespace);
    }
  }

  report(gateway: string): RevisionStatsReport {
    const revisions: RevisionStatsReport['revisions'] = [];
    for (const byName of this.#counts.values())
      for (const byRevision of byName.values())
        for (const e of byRevision.values())
          revisions.push({
            namespace: e.namespace,
            name: e.name,
            revision: e.revision,
            requests: e.counts.requests,
            errors: e.counts.errors,
            latencyBuckets: [...e.counts.latencyBuckets],
          });
    return { gateway, revisions };
  }
}

/** a + b, for summing gateways; a - b (never below zero), for a window between two reads. */
export function addCounts(a: RevisionCounts, b: RevisionCounts, sign: 1 | -1 = 1): RevisionCounts {
  return {
    requests: Math.max(0, a.requests + sign * b.requests),
    errors: Math.max(0, a.errors + sign * b.errors),
    latencyBuckets: a.latencyBuckets.map((n, i) =>
      Math.max(0, n + sign * (b.latencyBuckets[i] ?? 0)),
    ),
  };
}

/**
 * The q-quantile of the latency, interpolated inside its bucket as
 * Prometheus's histogram_quantile does; Infinity when it falls in the last,
 * unbounded bucket; 0 without requests.
 */
export function latencyQuantile(counts: RevisionCounts, q: number): number {
  const total = counts.latencyBuckets.reduce((n, c) => n + c, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.latencyBuckets.length; i++) {
    const inBucket = counts.latencyBuckets[i]!;
    if (seen + inBucket >= rank && inBucket > 0) {
      if (i === LATENCY_BUCKETS_MS.length) return Infinity;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return lower + ((upper - lower) * (rank - seen)) / inBucket;
    }
    seen += inBucket;
  }
  return Infinity;
}
