// What `roost triggers` runs. Every replica runs a consumer for every
// enabled QueueTrigger whose function exists, so that the replicas are
// competing consumers of each queue (and one dying leaves the others
// consuming); only the replica holding the Lease writes what describes the
// trigger as a whole: the Ready condition, the lag, the last error. The
// counts are each replica's own, added to the trigger's status by the replica
// that made them, with the trigger's resourceVersion (a conflict rereads and
// adds again), so that they stay exact across replicas. The leader also
// removes what Roost made in a broker once a trigger is deleted or its
// source changed (cleanup.ts), behind the trigger's finalizer.
import type { QueueTrigger, SandboxDeployment } from '../kube/api/roost.ts';
import { QUEUE_DEFAULTS } from '../kube/api/defaults.ts';
import { QueueTriggers, SandboxDeployments } from '../kube/api/resources.ts';
import { cacheKey, splitKey, type KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { electorFor, type LeaseSettings } from '../kube/leader-election.ts';
import { SharedInformers } from '../kube/shared-informers.ts';
import type { Logger } from '../lib/log.ts';
import { ControllerQueue } from '../controllers/shared/queue.ts';
import { sameStatus } from '../controllers/shared/status.ts';
import { TriggerCleaner } from './cleanup.ts';
import { TriggerConsumer } from './consumer.ts';
import { makeInvoker } from './invoker.ts';
import { openSource } from './open-source.ts';
import { TriggerStatusWriter } from './status.ts';

export const TRIGGERS_BY_TARGET = 'target';

export interface TriggersOptions {
  client: KubeClient;
  log: Logger;
  /** Serve the triggers of this namespace only (default: every namespace). */
  namespace?: string;
  /** A gateway's base URL: functions are invoked through its Invoke API. */
  gatewayUrl: string;
  /** The invoke token (gateway calls, Roost's own NATS). */
  token?: string;
  /** Roost's own NATS server, the default for nats sources. */
  eventsUrl?: string;
  /** How often counts and the leader's view are written (default 1 s). */
  statusIntervalMs?: number;
  /** NATS ack wait (default 10 s): how soon a dead replica's messages go to another. */
  ackWaitMs?: number;
  /** How long a deleted trigger waits for its broker to remove what Roost made there (default 2 min). */
  cleanupTimeoutMs?: number;
  /** Called once the caches synced and consumers may start. */
  onReady?: () => void;
  lease: LeaseSettings;
}

interface Running {
  consumer: TriggerConsumer;
  generation: number | undefined;
}

export async function runTriggers(options: TriggersOptions, signal: AbortSignal): Promise<void> {
  const { client, log } = options;
  const informers = new SharedInformers(client, log, { namespace: options.namespace });
  const triggers = informers.for(QueueTriggers);
  const deployments = informers.for(SandboxDeployments);
  triggers.store.addIndex(TRIGGERS_BY_TARGET, (t: QueueTrigger) => [
    `${t.metadata.namespace}/${t.spec.target.name}`,
  ]);
  const running = new Map<string, Running>();
  const queue = new ControllerQueue('queuetrigger');
  triggers.addHandlers({
    onAdd: (t) => queue.add(cacheKey(t)),
    onUpdate: (old, t) => {
      // Status writes come back here; only spec changes restart a consumer,
      // and a deletion or a new record of what was made concerns the cleanup.
      if (
        old.metadata.generation !== t.metadata.generation ||
        old.metadata.deletionTimestamp !== t.metadata.deletionTimestamp ||
        !sameStatus(old.metadata.finalizers ?? [], t.metadata.finalizers ?? []) ||
        !sameStatus(old.status?.created ?? [], t.status?.created ?? [])
      )
        queue.add(cacheKey(t));
    },
    onDelete: (t) => queue.add(cacheKey(t)),
  });
  const targetChanged = (d: SandboxDeployment) => {
    for (const t of triggers.store.byIndex(TRIGGERS_BY_TARGET, cacheKey(d))) queue.add(cacheKey(t));
  };
  deployments.addHandlers({ onAdd: targetChanged, onDelete: targetChanged });

  const targetExists = (t: QueueTrigger) =>
    deployments.store.get(`${t.metadata.namespace}/${t.spec.target.name}`) !== undefined;

  /** The consumer as the trigger's spec wants it; then, on the leader, the broker's cleanup. */
  const reconcile = async (key: string) => {
    await sync(key);
    const trigger = triggers.store.get(key);
    if (trigger && leading) return cleaner.reconcile(trigger);
  };

  /** Starts, restarts (a new generation) or stops the key's consumer to match the trigger. */
  const sync = async (key: string) => {
    const trigger = triggers.store.get(key);
    const wanted =
      trigger &&
      !trigger.metadata.deletionTimestamp &&
      (trigger.spec.enabled ?? QUEUE_DEFAULTS.enabled) &&
      targetExists(trigger);
    const current = running.get(key);
    if (current && (!wanted || current.generation !== trigger.metadata.generation)) {
      running.delete(key);
      await current.consumer.stop();
      status.keepCounts(key, current.consumer.takeCounts());
    }
    if (!wanted || running.has(key)) return;
    const { namespace, name } = splitKey(key);
    const consumer = new TriggerConsumer({
      trigger,
      open: () =>
        openSource(trigger, {
          ...brokers,
          recordCreated: (made) => status.recordCreated(trigger, made),
        }),
      invoke: makeInvoker({
        gatewayUrl: options.gatewayUrl,
        token: options.token,
        namespace: namespace!,
        name: trigger.spec.target.name,
        alias: trigger.spec.target.alias,
        trigger: name,
      }),
      log: log.child({ trigger: key }),
      ackWaitMs: options.ackWaitMs,
    });
    running.set(key, { consumer, generation: trigger.metadata.generation });
    consumer.start();
  };

  let leading = false;
  const brokers = { client, eventsUrl: options.eventsUrl, eventsToken: options.token };
  const recorder = new EventRecorder({ client, component: 'roost-triggers', log });
  const cleaner = new TriggerCleaner({
    client,
    recorder,
    log,
    brokers,
    timeoutMs: options.cleanupTimeoutMs ?? 120_000,
    othersConsuming: (trigger, before) => status.othersConsuming(trigger, before),
  });
  const statusIntervalMs = options.statusIntervalMs ?? 1000;

  const elector = electorFor(options.lease, {
    client,
    log,
    onStartedLeading: async (term) => {
      leading = true;
      log.info('leading: writing the triggers’ conditions and lag, cleaning up brokers');
      // Deletions and source changes that waited for a leader.
      for (const t of triggers.store.list()) queue.add(cacheKey(t));
      await new Promise<void>((resolve) =>
        term.addEventListener('abort', () => resolve(), { once: true }),
      );
      leading = false;
    },
  });

  const status = new TriggerStatusWriter({
    client,
    recorder,
    log,
    triggers: triggers.store,
    consumerOf: (key) => running.get(key)?.consumer,
    targetExists,
    isLeader: () => leading,
    identity: elector.identity,
    heartbeatMs: 15 * statusIntervalMs,
  });

  await informers.start();
  options.onReady?.();
  const election = elector.run(signal);
  const statusLoop = status.run(statusIntervalMs, signal);
  try {
    await queue.run({ reconcile, workers: 4, log, signal });
  } finally {
    await Promise.all([...running.values()].map((r) => r.consumer.stop()));
    for (const [key, r] of running) status.keepCounts(key, r.consumer.takeCounts());
    running.clear();
    await statusLoop;
    // The last counts, so a replica stopped (a rolling update) loses none;
    // and its entries in status.replicas go with it.
    await status.flushAll(true);
    await election;
    await recorder.flush();
    await informers.stop();
  }
}
