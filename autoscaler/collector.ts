// Collects in-flight concurrency per function from every gateway, found by
// their registration Leases (label roost.dev/gateway=true, fresh renewTime).
// A gateway that does not answer within the timeout is left out of this tick.
import type { Lease } from '../kube/api/core.ts';
import type { QueueTrigger } from '../kube/api/roost.ts';
import { Leases, QueueTriggers } from '../kube/api/resources.ts';
import type { Informer } from '../kube/informer.ts';
import { GATEWAY_LABEL, GATEWAY_URL_ANNOTATION } from '../kube/well-known.ts';
import type { SharedInformers } from '../kube/shared-informers.ts';
import type { Logger } from '../lib/log.ts';
import { CONCURRENCY_PATH, type ConcurrencyReport } from '../gateway/concurrency-report.ts';
import { bearer } from '../gateway/internal-auth.ts';
import { queueTriggerDemand } from './queue-demand.ts';

export class ConcurrencyCollector {
  readonly #leases: Informer<Lease>;
  readonly #queueTriggers: Informer<QueueTrigger>;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #token: string | undefined;
  #warnedRefused = false;

  constructor(options: {
    informers: SharedInformers;
    log: Logger;
    timeoutMs?: number;
    /** The invoke token: gateways answer their internal endpoints only to its holders. */
    token?: string;
  }) {
    this.#token = options.token;
    this.#leases = options.informers.for(Leases, { labelSelector: `${GATEWAY_LABEL}=true` });
    this.#queueTriggers = options.informers.for(QueueTriggers);
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#log = options.log;
  }

  /** URLs of gateways whose Lease is fresh. */
  gateways(now = Date.now()): string[] {
    return this.#leases.store
      .list()
      .filter((lease) => {
        const renewed = Date.parse(lease.spec.renewTime ?? '');
        return (
          Number.isFinite(renewed) && renewed + (lease.spec.leaseDurationSeconds ?? 30) * 1000 > now
        );
      })
      .map((lease) => lease.metadata.annotations?.[GATEWAY_URL_ANNOTATION])
      .filter((url): url is string => Boolean(url));
  }

  /** Total average concurrency per function ("namespace/name") across gateways. */
  async collect(): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    const reports = await this.readAll<ConcurrencyReport>(CONCURRENCY_PATH);
    // Events waiting in the durable queue are demand too (a function at zero
    // with queued events scales up, as KEDA scales on a queue's length). Every
    // gateway reports the same queue, so its figure is taken once, not summed.
    const queued = new Map<string, number>();
    for (const report of reports) {
      for (const fn of report?.functions ?? []) {
        const key = `${fn.namespace}/${fn.name}`;
        // A request held for a cold function may have arrived after the last
        // whole second closed; count it at once so scale-from-zero sees it.
        totals.set(key, (totals.get(key) ?? 0) + Math.max(fn.averageConcurrency, fn.held));
        queued.set(key, Math.max(queued.get(key) ?? 0, fn.queued ?? 0));
      }
    }
    for (const [key, depth] of queued) if (depth > (totals.get(key) ?? 0)) totals.set(key, depth);
    // So are messages waiting for a function's queue triggers (their lag,
    // which roost triggers writes in status): the larger of the two counts.
    for (const [key, demand] of queueTriggerDemand(this.#queueTriggers.store.list()))
      if (demand > (totals.get(key) ?? 0)) totals.set(key, demand);
    return totals;
  }

  /** Every fresh gateway's answer at `path` (an internal JSON endpoint); undefined for those that did not answer. */
  async readAll<T>(path: string): Promise<(T | undefined)[]> {
    return Promise.all(
      this.gateways().map(async (url) => {
        try {
          const response = await fetch(url + path, {
            signal: AbortSignal.timeout(this.#timeoutMs),
            headers: this.#token ? bearer(this.#token) : {},
          });
          if (response.status === 401) {
            // Said once, loudly: without the token the autoscaler and canaries are blind.
            if (!this.#warnedRefused)
              this.#log.warn(
                { gateway: url },
                'a gateway refused to report: the controller needs the invoke token (ROOST_INVOKE_TOKEN or --token-file)',
              );
            this.#warnedRefused = true;
            return undefined;
          }
          return (await response.json()) as T;
        } catch (err) {
          this.#log.debug({ gateway: url, path, err: String(err) }, 'cannot read a gateway report');
          return undefined;
        }
      }),
    );
  }
}
