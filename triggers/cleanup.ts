// The leader's cleanup of what Roost made in a user's broker (status.created:
// retry delay queues, a NATS durable consumer), in the order it runs:
//   1. a trigger without the finalizer gets it, so that its deletion waits
//      for step 2;
//   2. the entries of status.created that no longer belong (all of them when
//      the trigger is being deleted; those of another source when
//      spec.source changed) are removed from their broker, each then dropped
//      from status. Only what status lists is removed: never the user's
//      queue, stream, dead-letter queue or a durable consumer the user made;
//   3. first, the other replicas are given time (within the bound below) to
//      stop their consumers of the old trigger, so that no retry they still
//      publish goes to a delay queue already removed (their entries in
//      status.replicas say so);
//   4. a broker that is down or a Secret that is gone is retried with
//      back-off, for at most the cleanup timeout (from the deletion, or from
//      the first look after a source change); then the entry is dropped with
//      a Warning Event naming what was left behind, so nothing holds a
//      delete forever;
//   5. once nothing is left, a deleted trigger's finalizer is removed.
// A disabled trigger keeps what it made: it may consume again.
import type { QueueTrigger, QueueTriggerCreated } from '../kube/api/roost.ts';
import { QueueTriggers } from '../kube/api/resources.ts';
import { cacheKey, keyOf, type KubeClient } from '../kube/client.ts';
import type { ReconcileResult } from '../kube/controller.ts';
import type { EventRecorder } from '../kube/events.ts';
import { removeFinalizer } from '../kube/finalizers.ts';
import { QUEUE_TRIGGER_FINALIZER } from '../kube/well-known.ts';
import { Backoff } from '../lib/backoff.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { sameStatus } from '../controllers/shared/status.ts';
import { describeCreated, removeCreated, type OpenSourceOptions } from './open-source.ts';
import { updateTriggerStatus } from './status.ts';

export interface TriggerCleanerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  log: Logger;
  /** How to reach a broker (Roost's own NATS for nats sources without a Secret). */
  brokers: OpenSourceOptions;
  /** How long a broker may stay unreachable before its objects are given up. */
  timeoutMs: number;
  /**
   * Other replicas whose consumer may still run the trigger as it was before
   * generation `before` (any generation when undefined): a retry they
   * publish must not reach a delay queue already removed.
   */
  othersConsuming(trigger: QueueTrigger, before?: number): string[];
}

export class TriggerCleaner {
  readonly #options: TriggerCleanerOptions;
  /** Per trigger and stale source: when its removal was first tried, and its back-off. */
  readonly #attempts = new Map<string, { since: number; backoff: Backoff }>();

  constructor(options: TriggerCleanerOptions) {
    this.#options = options;
  }

  async reconcile(trigger: QueueTrigger): Promise<ReconcileResult | void> {
    const deleting = trigger.metadata.deletionTimestamp !== undefined;
    const finalized = trigger.metadata.finalizers?.includes(QUEUE_TRIGGER_FINALIZER) ?? false;
    if (deleting && !finalized) return;
    if (!deleting && !finalized) await this.#addFinalizer(trigger);
    const stale = (trigger.status?.created ?? []).filter(
      (c) => deleting || !sameStatus(c.source, trigger.spec.source),
    );
    if (stale.length === 0) {
      for (const id of this.#attempts.keys())
        if (id.startsWith(`${trigger.metadata.uid}/`)) this.#attempts.delete(id);
      if (deleting)
        await removeFinalizer(
          this.#options.client,
          QueueTriggers,
          trigger,
          QUEUE_TRIGGER_FINALIZER,
        );
      return;
    }
    // Wait (within the bound) for the other replicas to stop consuming.
    const busy = this.#options.othersConsuming(
      trigger,
      deleting ? undefined : trigger.metadata.generation,
    );
    const since = this.#since(trigger, deleting);
    if (busy.length > 0 && Date.now() < since + this.#options.timeoutMs) {
      this.#options.log.debug({ trigger: cacheKey(trigger), busy }, 'waiting for replicas to stop');
      return { requeueAfterMs: 250 };
    }
    let retryInMs: number | undefined;
    for (const created of stale) {
      const wait = await this.#remove(trigger, created, since);
      if (wait !== undefined) retryInMs = Math.min(retryInMs ?? wait, wait);
    }
    if (retryInMs !== undefined) return { requeueAfterMs: retryInMs };
    if (deleting)
      await removeFinalizer(this.#options.client, QueueTriggers, trigger, QUEUE_TRIGGER_FINALIZER);
  }

  /**
   * Removes one entry's objects from its broker and drops the entry; on
   * failure, the wait before the next try, or undefined once given up.
   */
  async #remove(
    trigger: QueueTrigger,
    created: QueueTriggerCreated,
    since: number,
  ): Promise<number | undefined> {
    const id = `${trigger.metadata.uid}/${JSON.stringify(created.source)}`;
    const what = describeCreated(created);
    try {
      await removeCreated(trigger, created, this.#options.brokers);
      this.#attempts.delete(id);
      await this.#dropEntry(trigger, created);
      if (what.length > 0)
        this.#options.recorder.normal(
          trigger,
          'BrokerCleanedUp',
          `Removed from the broker: ${what.join(', ')}`,
        );
      return undefined;
    } catch (err) {
      const attempt = this.#attempts.get(id) ?? {
        since,
        backoff: new Backoff({ initialMs: 500, maxMs: 15_000 }),
      };
      this.#attempts.set(id, attempt);
      const left = since + this.#options.timeoutMs - Date.now();
      if (left > 0) {
        this.#options.log.warn(
          { trigger: cacheKey(trigger), err: errorMessage(err) },
          'cannot clean up the broker yet; retrying',
        );
        return Math.min(attempt.backoff.next(), left);
      }
      this.#attempts.delete(id);
      this.#options.recorder.warning(
        trigger,
        'BrokerCleanupAbandoned',
        `Left in the broker after ${Math.round(this.#options.timeoutMs / 1000)}s of trying: ${what.join(', ')} (${errorMessage(err)})`,
      );
      await this.#dropEntry(trigger, created);
      return undefined;
    }
  }

  /** When the bound started: the deletion, or the first look at a changed source. */
  #since(trigger: QueueTrigger, deleting: boolean): number {
    if (deleting) return Date.parse(trigger.metadata.deletionTimestamp!);
    const id = `${trigger.metadata.uid}/generation ${trigger.metadata.generation}`;
    const first = this.#attempts.get(id) ?? { since: Date.now(), backoff: new Backoff() };
    this.#attempts.set(id, first);
    return first.since;
  }

  async #dropEntry(trigger: QueueTrigger, created: QueueTriggerCreated): Promise<void> {
    await updateTriggerStatus(this.#options.client, cacheKey(trigger), (live) => {
      const status = structuredClone(live.status ?? {});
      status.created = status.created?.filter((c) => !sameStatus(c.source, created.source));
      if (status.created?.length === 0) delete status.created;
      return status;
    });
  }

  /** With the resourceVersion read: a stale copy fails with a conflict and is retried. */
  async #addFinalizer(trigger: QueueTrigger): Promise<void> {
    await this.#options.client.patch(QueueTriggers, keyOf(trigger), {
      metadata: {
        resourceVersion: trigger.metadata.resourceVersion,
        finalizers: [...(trigger.metadata.finalizers ?? []), QUEUE_TRIGGER_FINALIZER],
      },
    });
  }
}
