// The gateways' counts for one revision, summed: what a canary step is judged
// by. Read from every fresh gateway's /internal/revisions on each look, as
// the autoscaler reads concurrency; a gateway that does not answer is left
// out of that look.
import type { ConcurrencyCollector } from '../../autoscaler/collector.ts';
import {
  REVISION_STATS_PATH,
  addCounts,
  emptyCounts,
  type RevisionCounts,
  type RevisionStatsReport,
} from '../../gateway/revision-stats.ts';

export interface RevisionCountsSource {
  /** Requests, errors and latency of namespace/name's revision, since each gateway started. */
  counts(namespace: string, name: string, revision: number): Promise<RevisionCounts>;
}

export class GatewayRevisionCounts implements RevisionCountsSource {
  readonly #gateways: ConcurrencyCollector;

  constructor(gateways: ConcurrencyCollector) {
    this.#gateways = gateways;
  }

  async counts(namespace: string, name: string, revision: number): Promise<RevisionCounts> {
    const reports = await this.#gateways.readAll<RevisionStatsReport>(REVISION_STATS_PATH);
    let total = emptyCounts();
    for (const report of reports)
      for (const r of report?.revisions ?? [])
        if (r.namespace === namespace && r.name === name && r.revision === revision)
          total = addCounts(total, r);
    return total;
  }
}
