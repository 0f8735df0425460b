// Messages waiting for a function's queue triggers are demand, as KEDA scales
// on a queue's length: a function at zero with a lagging trigger scales up,
// and one whose queues are empty may go back to zero. A trigger's demand is
// the batches it could have in flight for that lag: one per batchSize
// messages waiting, at most its maxConcurrency.
import type { QueueTrigger } from '../kube/api/roost.ts';
import { QUEUE_DEFAULTS } from '../kube/api/defaults.ts';

/** Demand in concurrent invocations per function ("namespace/name"), from its triggers' lag. */
export function queueTriggerDemand(triggers: QueueTrigger[]): Map<string, number> {
  const demand = new Map<string, number>();
  for (const trigger of triggers) {
    const lag = trigger.status?.lag ?? 0;
    if (lag <= 0 || !(trigger.spec.enabled ?? QUEUE_DEFAULTS.enabled)) continue;
    const batchSize = trigger.spec.batchSize ?? QUEUE_DEFAULTS.batchSize;
    const maxConcurrency = trigger.spec.maxConcurrency ?? QUEUE_DEFAULTS.maxConcurrency;
    const key = `${trigger.metadata.namespace}/${trigger.spec.target.name}`;
    const batches = Math.min(Math.ceil(lag / batchSize), maxConcurrency);
    demand.set(key, (demand.get(key) ?? 0) + batches);
  }
  return demand;
}
