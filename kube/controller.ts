// The loop every Roost controller runs: take a key, reconcile it, and decide
// what happens next. Reconciliation is level-based; a thrown error means
// "retry with back-off" (so that a failing key never hot-loops), a TerminalError
// means "do not retry until something changes", and requeueAfterMs is for an
// expected wait such as minReadySeconds.
import { RoostError, errorMessage } from '../lib/errors.ts';
import { counter, histogram } from '../lib/metrics.ts';
import type { Logger } from '../lib/log.ts';
import { isCancelled } from './errors.ts';
import type { WorkQueue } from './workqueue.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

/** An error retrying cannot fix; the key waits for the next change. */
export class TerminalError extends RoostError {
  constructor(message: string, options?: ErrorOptions) {
    super('ROOST_TERMINAL', message, options);
  }
}

const reconciles = counter({
  name: 'roost_reconcile_total',
  help: 'Reconciles, by controller and result: success, requeue (an expected wait), error (retried), terminal (not retried), cancelled (the term ended).',
  labelNames: ['controller', 'result'],
});
const reconcileErrors = counter({
  name: 'roost_reconcile_errors_total',
  help: 'Reconciles that failed, by controller (error and terminal results).',
  labelNames: ['controller'],
});
const reconcileDuration = histogram({
  name: 'roost_reconcile_duration_seconds',
  help: 'How long one reconcile took, by controller.',
  labelNames: ['controller'],
});

export interface RunWorkersOptions {
  queue: WorkQueue<string>;
  reconcile: Reconcile;
  workers: number;
  log: Logger;
}

/** Runs `workers` loops until the queue shuts down; resolves when all have stopped. */
export async function runWorkers(options: RunWorkersOptions): Promise<void> {
  const { queue, reconcile, log } = options;
  const controller = queue.name ?? 'unnamed';
  const count = (result: string) => reconciles.labels(controller, result).inc();
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const result = await reconcile(key);
        // Success: the next failure of this key starts its back-off afresh.
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        count(result?.requeueAfterMs !== undefined ? 'requeue' : 'success');
      } catch (err) {
        if (isCancelled(err)) {
          // The term ended under it: the next leader reconciles this key afresh.
          count('cancelled');
          log.debug({ key, err: errorMessage(err) }, 'reconcile cancelled');
        } else if (err instanceof TerminalError) {
          count('terminal');
          reconcileErrors.labels(controller).inc();
          queue.forget(key);
          log.warn({ key, err: err.message }, 'reconcile failed; not retrying');
        } else {
          count('error');
          reconcileErrors.labels(controller).inc();
          log.warn(
            { key, err: errorMessage(err), failures: queue.failures(key) + 1 },
            'reconcile failed; retrying',
          );
          queue.addRateLimited(key);
        }
      } finally {
        reconcileDuration.labels(controller).observe((performance.now() - started) / 1000);
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
}
