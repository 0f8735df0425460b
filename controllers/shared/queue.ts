// The work queue and worker loop every controller runs, bound to a
// component's lifetime: workers start after the informers have synced and
// stop when leadership ends.
import { runWorkers, type Reconcile } from '../../kube/controller.ts';
import { WorkQueue } from '../../kube/workqueue.ts';
import type { Logger } from '../../lib/log.ts';

export class ControllerQueue {
  readonly queue: WorkQueue<string>;

  /** `name` names the queue's and the reconciler's metrics: the component's name. */
  constructor(name: string) {
    this.queue = new WorkQueue<string>({ name, baseDelayMs: 50, maxDelayMs: 30_000 });
  }

  add(key: string | undefined): void {
    if (key) this.queue.add(key);
  }

  async run(options: { reconcile: Reconcile; workers: number; log: Logger; signal: AbortSignal }) {
    const stop = () => this.queue.shutDown();
    options.signal.addEventListener('abort', stop, { once: true });
    if (options.signal.aborted) stop();
    await runWorkers({
      queue: this.queue,
      reconcile: options.reconcile,
      workers: options.workers,
      log: options.log,
    });
  }
}
