// What `roost triggers` runs. Every replica runs a consumer for every
// enabled QueueTrigger whose function exists, so that the replicas are
// competing consumers of each queue (and one dying leaves the others
// consuming); only the replica holding the Lease writes what describes the
// trigger as a whole: the Ready condition, the lag, the last error. The
// counts are each replica's own, added to the trigger's status by the replica
// that made them, with the trigger's resourceVersion (a conflict rereads and
// adds again), so that they stay exact across replicas.
import type { QueueTrigger, SandboxDeployment } from '../kube/api/roost.ts';
import { QUEUE_DEFAULTS } from '../kube/api/defaults.ts';
import { QueueTriggers, SandboxDeployments } from '../kube/api/resources.ts';
import { cacheKey, splitKey, type KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { electorFor, type LeaseSettings } from '../kube/leader-election.ts';
import { SharedInformers } from '../kube/shared-informers.ts';
import type { Logger } from '../lib/log.ts';
import { ControllerQueue } from '../controllers/shared/queue.ts';
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
      // Status writes come back here; only spec changes restart a consumer.
      if (old.metadata.generation !== t.metadata.generation) queue.add(cacheKey(t));
    },
    onDelete: (t) => queue.add(cacheKey(t)),
  });
  const targetChanged = (d: SandboxDeployment) => {
    for (const t of triggers.store.byIndex(TRIGGERS_BY_TARGET, cacheKey(d))) queue.add(cacheKey(t));
  };
  deployments.addHandlers({ onAdd: targetChanged, onDelete: targetChanged });

  const targetExists = (t: QueueTrigger) =>
    deployments.store.get(`${t.metadata.namespace}/${t.spec.target.name}`) !== undefined;

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
        openSource(trigger, { client, eventsUrl: options.eventsUrl, eventsToken: options.token }),
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
  const recorder = new EventRecorder({ client, component: 'roost-triggers', log });
  const status = new TriggerStatusWriter({
    client,
    recorder,
    log,
    triggers: triggers.store,
    consumerOf: (key) => running.get(key)?.consumer,
    targetExists,
    isLeader: () => leading,
  });

  const elector = electorFor(options.lease, {
    client,
    log,
    onStartedLeading: async (term) => {
      leading = true;
      log.info('leading: writing the triggers’ conditions and lag');
      await new Promise<void>((resolve) =>
        term.addEventListener('abort', () => resolve(), { once: true }),
      );
      leading = false;
    },
  });

  await informers.start();
  options.onReady?.();
  const election = elector.run(signal);
  const statusLoop = status.run(options.statusIntervalMs ?? 1000, signal);
  try {
    await queue.run({ reconcile: sync, workers: 4, log, signal });
  } finally {
    await Promise.all([...running.values()].map((r) => r.consumer.stop()));
    for (const [key, r] of running) status.keepCounts(key, r.consumer.takeCounts());
    running.clear();
    await statusLoop;
    // The last counts, so a replica stopped (a rolling update) loses none.
    await status.flushAll();
    await election;
    await recorder.flush();
    await informers.stop();
  }
}
