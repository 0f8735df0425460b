// Writes QueueTrigger status from one roost triggers replica, every interval:
//   - every replica adds the counts its consumer made since the last write
//     (read live, add, replace with the resourceVersion; a conflict means
//     another replica wrote in between: read again and add again; a write
//     that fails keeps the counts for the next one), so they are exact;
//   - every replica keeps its own entry in status.replicas (consuming, or
//     why not), written when it changes and refreshed every heartbeat, and
//     removed when the replica stops consuming the trigger or shuts down;
//   - the leader also records the trigger as a whole: source and queue for
//     kubectl get, the lag (and the lag metric), the last error, and Ready,
//     True only when every replica consumes: a follower that alone cannot
//     reach the broker turns it False with its reason and name (a Knative
//     Ready is the sum of its parts). Entries not refreshed for three
//     heartbeats (a replica killed outright) are dropped by the leader.
// It also records, before a source makes it, what Roost makes in the user's
// broker (status.created), for cleanup.ts.
// Nothing here quotes a Secret: messages come from TriggerErrors and broker
// errors that were redacted where they were made.
import type { QueueTrigger, QueueTriggerReplica } from '../kube/api/roost.ts';
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
import { triggerConsuming, triggerLag } from './metrics.ts';

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
  /** This replica's name in status.replicas (its Lease identity). */
  identity: string;
  /** How often a replica rewrites its unchanged entry; three of these without one and it is dropped. */
  heartbeatMs: number;
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

/** What this replica writes of its own entry: a new one, its removal (null), or nothing. */
type ReplicaChange = QueueTriggerReplica | null | undefined;

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

  /** Writes every trigger's status; `final`: this replica stops, so its entries go. */
  async flushAll(final = false): Promise<void> {
    const keys = new Set([
      ...this.#options.triggers.list().map((t) => `${t.metadata.namespace}/${t.metadata.name}`),
      ...this.#kept.keys(),
    ]);
    await Promise.all([...keys].map((key) => this.#flush(key, final)));
  }

  async #flush(key: string, final: boolean): Promise<void> {
    const consumer = final ? undefined : this.#options.consumerOf(key);
    const counts = add(this.#kept.get(key) ?? NO_COUNTS, consumer?.takeCounts() ?? NO_COUNTS);
    this.#kept.delete(key);
    try {
      const cached = this.#options.triggers.get(key);
      const replica = cached ? this.#replicaChange(cached, consumer) : undefined;
      const view =
        cached && this.#options.isLeader() && !final
          ? await this.#leaderView(cached, consumer)
          : undefined;
      const nothingToAdd = counts.delivered + counts.failed + counts.deadLettered === 0;
      if (
        nothingToAdd &&
        replica === undefined &&
        (!view || !cached || sameStatus(cached.status ?? {}, this.#apply(cached, view, NO_COUNTS)))
      )
        return;
      await this.#write(key, view, counts, replica);
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

  /**
   * This replica's entry as it should be: none while no consumer runs here,
   * unchanged while its first connection is being tried, else consuming or
   * why not; written when it differs or is a heartbeat old.
   */
  #replicaChange(trigger: QueueTrigger, consumer: TriggerConsumer | undefined): ReplicaChange {
    const { identity, heartbeatMs } = this.#options;
    const labels = { namespace: trigger.metadata.namespace, trigger: trigger.metadata.name };
    const current = trigger.status?.replicas?.find((r) => r.name === identity);
    if (!consumer) {
      triggerConsuming.remove(labels);
      return current ? null : undefined;
    }
    const state = consumer.state;
    if (!state) return undefined;
    triggerConsuming.set(labels, state.ready ? 1 : 0);
    const generation = consumer.generation;
    const wanted: QueueTriggerReplica = state.ready
      ? { name: identity, generation, consuming: true, time: kubeTime() }
      : {
          name: identity,
          generation,
          consuming: false,
          reason: state.reason,
          message: state.message,
          time: kubeTime(),
        };
    const same =
      current &&
      current.generation === wanted.generation &&
      current.consuming === wanted.consuming &&
      current.reason === wanted.reason &&
      current.message === wanted.message &&
      Date.now() - Date.parse(current.time) < heartbeatMs;
    return same ? undefined : wanted;
  }

  async #write(
    key: string,
    view: LeaderView | undefined,
    counts: Counts,
    replica: ReplicaChange,
  ): Promise<void> {
    await updateTriggerStatus(this.#options.client, key, (live) => {
      const status = this.#apply(live, view, counts);
      if (replica !== undefined) {
        const others = (status.replicas ?? []).filter((r) => r.name !== this.#options.identity);
        status.replicas = replica ? [...others, replica] : others;
        if (status.replicas.length === 0) delete status.replicas;
      }
      return status;
    }).then((before) => {
      if (before && view) this.#announce(before, view);
    });
  }

  /**
   * Records in status.created an object a source is about to make in the
   * broker for `trigger` (the generation its consumer runs), unless it is
   * already there. Throws when it cannot be recorded: the object is then not made.
   */
  async recordCreated(
    trigger: QueueTrigger,
    made: { queue?: string; consumer?: string },
  ): Promise<void> {
    const key = `${trigger.metadata.namespace}/${trigger.metadata.name}`;
    await updateTriggerStatus(this.#options.client, key, (live) => {
      const status: Status = structuredClone(live.status ?? {});
      const created = (status.created ??= []);
      let entry = created.find((c) => sameStatus(c.source, trigger.spec.source));
      if (!entry) created.push((entry = { source: structuredClone(trigger.spec.source) }));
      if (made.queue && !entry.queues?.includes(made.queue))
        entry.queues = [...(entry.queues ?? []), made.queue];
      if (made.consumer) entry.consumer = made.consumer;
      return status;
    });
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
    const others = this.#freshReplicas(trigger).filter((r) => r.name !== this.#options.identity);
    const notConsuming = others.filter((r) => !r.consuming);
    if (notConsuming.length > 0) {
      const first = notConsuming[0]!;
      const consuming = others.length - notConsuming.length + 1;
      view.ready = {
        status: 'False',
        reason: first.reason ?? 'BrokerUnreachable',
        message: `replica ${first.name}: ${first.message ?? 'not consuming'} (${consuming} of ${others.length + 1} replicas consuming)`,
      };
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

  /**
   * The other replicas that may still consume `trigger` as its generation
   * `before` (or any, when undefined) had it: their fresh entries, each
   * removed or moved on once their consumer stopped and settled its batches.
   */
  othersConsuming(trigger: QueueTrigger, before?: number): string[] {
    return this.#freshReplicas(trigger)
      .filter(
        (r) =>
          r.name !== this.#options.identity &&
          (before === undefined || r.generation === undefined || r.generation < before),
      )
      .map((r) => r.name);
  }

  /** The entries of replicas that wrote within three heartbeats. */
  #freshReplicas(trigger: QueueTrigger): QueueTriggerReplica[] {
    const oldest = Date.now() - 3 * this.#options.heartbeatMs;
    return (trigger.status?.replicas ?? []).filter((r) => Date.parse(r.time) >= oldest);
  }

  /** The trigger's status with the counts added and, from the leader, its view (stale replicas dropped). */
  #apply(trigger: QueueTrigger, view: LeaderView | undefined, counts: Counts): Status {
    const status = apply(trigger, view, counts);
    if (view && status.replicas) {
      const fresh = this.#freshReplicas(trigger).map((r) => r.name);
      status.replicas = status.replicas.filter((r) => fresh.includes(r.name));
      if (status.replicas.length === 0) delete status.replicas;
    }
    return status;
  }
}

/**
 * Replaces the trigger's status with what `change` makes of the live object,
 * with its resourceVersion; a conflict (another replica wrote) reads again
 * and changes again. Resolves with the object as it was before the write, or
 * undefined when nothing changed.
 */
export async function updateTriggerStatus(
  client: KubeClient,
  key: string,
  change: (live: QueueTrigger) => Status,
): Promise<QueueTrigger | undefined> {
  for (let attempt = 0; ; attempt++) {
    const live = await client.get(QueueTriggers, splitKey(key));
    const status = change(live);
    if (sameStatus(live.status ?? {}, status)) return undefined;
    try {
      await client.replace(QueueTriggers, { ...live, status }, { subresource: 'status' });
      return live;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
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
