// Writes QueueTrigger status from one roost triggers replica, every interval:
//   - every replica adds the counts its consumer made since the last write
//     (read live, add, replace with the resourceVersion; a conflict means
//     another replica wrote in between: read again and add again; a write
//     that fails keeps the counts for the next one), so they are exact;
//   - the leader also records the trigger as a whole: source and queue for
//     kubectl get, the lag (and the lag metric), Ready with its reason, and
//     the last error.
// Nothing here quotes a Secret: messages come from TriggerErrors and broker
// errors that were redacted where they were made.
import type { QueueTrigger } from '../kube/api/roost.ts';
import { QUEUE_DEFAULTS } from '../kube/api/defaults.ts';
import { QueueTriggers } from '../kube/api/resources.ts';
import { splitKey, type KubeClient } from '../kube/client.ts';
import { kubeTime, setCondition } from '../kube/conditions.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Store } from '../kube/informer.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { sameStatus } from '../controllers/shared/status.ts';
import type { Counts, TriggerConsumer } from './consumer.ts';
import { TriggerError } from './errors.ts';
import { triggerLag } from './metrics.ts';

type Status = NonNullable<QueueTrigger['status']>;

export interface TriggerStatusWriterOptions {
  client: KubeClient;
  /** The leader's Events for kubectl describe: Ready going False (its reason), and back. */
  recorder: EventRecorder;
  log: Logger;
  triggers: Store<QueueTrigger>;
  consumerOf(key: string): TriggerConsumer | undefined;
  targetExists(trigger: QueueTrigger): boolean;
  isLeader(): boolean;
}

/** What the leader says about a trigger as a whole. */
interface LeaderView {
  source: string;
  queue: string;
  lag?: number;
  ready: { status: 'True' | 'False'; reason: string; message: string };
  lastError?: { time: string; message: string };
}

const NO_COUNTS: Counts = { delivered: 0, failed: 0, deadLettered: 0 };

export class TriggerStatusWriter {
  readonly #options: TriggerStatusWriterOptions;
  /** Counts of consumers that were stopped, waiting to be written. */
  readonly #kept = new Map<string, Counts>();

  constructor(options: TriggerStatusWriterOptions) {
    this.#options = options;
  }

  keepCounts(key: string, counts: Counts): void {
    this.#kept.set(key, add(this.#kept.get(key) ?? NO_COUNTS, counts));
  }

  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.flushAll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }

  async flushAll(): Promise<void> {
    const keys = new Set([
      ...this.#options.triggers.list().map((t) => `${t.metadata.namespace}/${t.metadata.name}`),
      ...this.#kept.keys(),
    ]);
    await Promise.all([...keys].map((key) => this.#flush(key)));
  }

  async #flush(key: string): Promise<void> {
    const consumer = this.#options.consumerOf(key);
    const counts = add(this.#kept.get(key) ?? NO_COUNTS, consumer?.takeCounts() ?? NO_COUNTS);
    this.#kept.delete(key);
    try {
      const cached = this.#options.triggers.get(key);
      const view =
        cached && this.#options.isLeader() ? await this.#leaderView(cached, consumer) : undefined;
      const nothingToAdd = counts.delivered + counts.failed + counts.deadLettered === 0;
      if (
        nothingToAdd &&
        (!view || !cached || sameStatus(cached.status ?? {}, apply(cached, view, NO_COUNTS)))
      )
        return;
      await this.#write(key, view, counts);
    } catch (err) {
      this.keepCounts(key, counts);
      if (!isNotFound(err))
        this.#options.log.warn(
          { trigger: key, err: errorMessage(err) },
          'cannot write trigger status',
        );
      else this.#kept.delete(key);
    }
  }

  async #write(key: string, view: LeaderView | undefined, counts: Counts): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.#options.client.get(QueueTriggers, splitKey(key));
      const status = apply(live, view, counts);
      if (sameStatus(live.status ?? {}, status)) return;
      try {
        await this.#options.client.replace(
          QueueTriggers,
          { ...live, status },
          { subresource: 'status' },
        );
        if (view) this.#announce(live, view);
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 10) throw err;
      }
    }
  }

  /** An Event when Ready changes: a Warning with the reason, or Normal when it consumes again. */
  #announce(before: QueueTrigger, view: LeaderView): void {
    const was = before.status?.conditions?.find((c) => c.type === 'Ready');
    if (was?.status === view.ready.status && was.reason === view.ready.reason) return;
    if (view.ready.status === 'True')
      this.#options.recorder.normal(before, 'Consuming', `Consuming ${view.source} ${view.queue}`);
    else this.#options.recorder.warning(before, view.ready.reason, view.ready.message);
  }

  async #leaderView(
    trigger: QueueTrigger,
    consumer: TriggerConsumer | undefined,
  ): Promise<LeaderView> {
    const { rabbitmq, nats } = trigger.spec.source;
    const view: LeaderView = {
      source: rabbitmq ? 'rabbitmq' : 'nats',
      queue: rabbitmq ? rabbitmq.queue : `${nats?.stream}/${nats?.subject ?? '>'}`,
      ready: { status: 'True', reason: 'Consuming', message: 'consuming' },
      lastError: trigger.status?.lastError,
    };
    const recordError = (message: string, time = new Date()) => {
      if (trigger.status?.lastError?.message !== message)
        view.lastError = { time: kubeTime(time), message };
    };
    if (!(trigger.spec.enabled ?? QUEUE_DEFAULTS.enabled)) {
      view.ready = {
        status: 'False',
        reason: 'Disabled',
        message: 'spec.enabled is false: nothing is consumed',
      };
      return view;
    }
    if (!this.#options.targetExists(trigger)) {
      view.ready = {
        status: 'False',
        reason: 'TargetNotFound',
        message: `no SandboxDeployment ${trigger.spec.target.name} in namespace ${trigger.metadata.namespace}; nothing is consumed until it exists`,
      };
      return view;
    }
    if (consumer?.lastError) recordError(consumer.lastError.message, consumer.lastError.time);
    const state = consumer?.state;
    if (!state || !state.ready) {
      view.ready = state
        ? { status: 'False', reason: state.reason, message: state.message }
        : { status: 'False', reason: 'BrokerUnreachable', message: 'not connected yet' };
      return view;
    }
    try {
      view.lag = (await consumer!.source?.lag()) ?? trigger.status?.lag;
      if (view.lag !== undefined)
        triggerLag.set(
          { namespace: trigger.metadata.namespace, trigger: trigger.metadata.name },
          view.lag,
        );
    } catch (err) {
      const message = errorMessage(err);
      recordError(message);
      if (err instanceof TriggerError)
        view.ready = { status: 'False', reason: err.reason, message };
    }
    return view;
  }
}

function add(a: Counts, b: Counts): Counts {
  return {
    delivered: a.delivered + b.delivered,
    failed: a.failed + b.failed,
    deadLettered: a.deadLettered + b.deadLettered,
  };
}

/** The trigger's status with the counts added and, from the leader, its view. */
function apply(trigger: QueueTrigger, view: LeaderView | undefined, counts: Counts): Status {
  const status: Status = structuredClone(trigger.status ?? {});
  status.delivered = (status.delivered ?? 0) + counts.delivered;
  status.failed = (status.failed ?? 0) + counts.failed;
  status.deadLettered = (status.deadLettered ?? 0) + counts.deadLettered;
  if (view) {
    status.observedGeneration = trigger.metadata.generation;
    status.source = view.source;
    status.queue = view.queue;
    if (view.lag !== undefined) status.lag = view.lag;
    if (view.lastError) status.lastError = view.lastError;
    status.conditions = setCondition(status.conditions, { type: 'Ready', ...view.ready });
  }
  return status;
}
