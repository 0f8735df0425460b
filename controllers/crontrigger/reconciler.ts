// Reconciles one CronTrigger, top to bottom:
//   1. observe: read it live (never act on a cache that has not seen our own
//      last status write: that write is what keeps a time from firing twice);
//   2. take in the outcomes of its runs that the gateways announced, and
//      forget runs that outlived any chance of an outcome;
//   3. parse the schedule and time zone (a bad one: condition, Event, stop);
//   4. suspended: record that, and wait for a change;
//   5. for each scheduled time that came since the last one handled, oldest
//      first: skip it (past startingDeadlineSeconds, Forbid with a run going,
//      target missing), or fire it: record it in status first, then send
//      the event to the durable queue, as the CronJob controller records
//      lastScheduleTime before it creates the Job;
//   6. record the next time, and come back then.
//
// Unlike a CronJob, which runs only the latest missed time, every missed
// time within startingDeadlineSeconds is run, so that a leader change
// neither skips nor doubles a time.
import type { CronRun, CronTrigger, SandboxDeployment } from '../../kube/api/roost.ts';
import { CronTriggers } from '../../kube/api/resources.ts';
import { splitKey, type KubeClient } from '../../kube/client.ts';
import { setCondition, kubeTime } from '../../kube/conditions.ts';
import { TerminalError, type ReconcileResult } from '../../kube/controller.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Store } from '../../kube/informer.ts';
import type { EventOutcome, EventQueue } from '../../events/queue.ts';
import { ASYNC_DEFAULTS, CRON_DEFAULTS, FUNCTION_DEFAULTS } from '../../kube/api/defaults.ts';
import { sameStatus } from '../shared/status.ts';
import { runRequestId, triggerSource } from './names.ts';
import { makeScheduledEvent } from './resources/event.ts';
import {
  dueTimes,
  InvalidScheduleError,
  parseSchedule,
  type Schedule,
} from './resources/schedule.ts';

export interface CronTriggerReconcilerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  queue: EventQueue;
  deployments: Store<SandboxDeployment>;
  now?: () => Date;
}

/** Most scheduled times one pass sends; older missed ones are counted and skipped. */
const MAX_CATCH_UP = 100;

type Status = NonNullable<CronTrigger['status']>;

export class CronTriggerReconciler {
  readonly #options: CronTriggerReconcilerOptions;
  /** Outcomes announced for each trigger's runs, waiting for its next pass. */
  readonly #outcomes = new Map<string, EventOutcome[]>();

  constructor(options: CronTriggerReconcilerOptions) {
    this.#options = options;
  }

  /** Keeps an announced outcome of one of `key`'s runs for its next pass. */
  noteOutcome(key: string, outcome: EventOutcome): void {
    const list = this.#outcomes.get(key) ?? [];
    list.push(outcome);
    this.#outcomes.set(key, list);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    let trigger = await this.#observe(key);
    if (!trigger || trigger.metadata.deletionTimestamp) {
      this.#outcomes.delete(key);
      return;
    }
    const now = this.#now();
    const status: Status = structuredClone(trigger.status ?? {});
    status.observedGeneration = trigger.metadata.generation;
    this.#takeOutcomes(key, trigger, status);
    this.#expireRuns(trigger, status, now);

    let schedule: Schedule;
    try {
      schedule = parseSchedule(trigger.spec, new Date(trigger.metadata.creationTimestamp ?? now));
    } catch (err) {
      if (!(err instanceof InvalidScheduleError)) throw err;
      return this.#refuse(trigger, status, err);
    }

    if (trigger.spec.suspend ?? CRON_DEFAULTS.suspend) {
      status.nextScheduleTime = undefined;
      status.conditions = setCondition(status.conditions, {
        type: 'Scheduled',
        status: 'False',
        reason: 'Suspended',
        message: 'spec.suspend is true: nothing is sent, and times that pass are not run later',
      });
      await this.#record(trigger, status);
      return;
    }

    // Resumed: the times that passed while it was suspended are not run.
    const scheduled = status.conditions?.find((c) => c.type === 'Scheduled');
    if (scheduled?.reason === 'Suspended') status.lastSkipTime = kubeTime(now);

    trigger = await this.#fireDueTimes(trigger, status, schedule, now);

    const next = schedule.next(now);
    status.nextScheduleTime = kubeTime(next);
    status.conditions = setCondition(status.conditions, {
      type: 'Scheduled',
      status: 'True',
      reason: 'Scheduled',
      message: `next run at ${status.nextScheduleTime}`,
    });
    await this.#record(trigger, status);
    return { requeueAfterMs: Math.max(0, next.getTime() - this.#now().getTime()) };
  }

  async #observe(key: string): Promise<CronTrigger | undefined> {
    try {
      return await this.#options.client.get(CronTriggers, splitKey(key));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Runs that finished: out of active, into lastSuccessfulTime or lastFailure (with an Event). */
  #takeOutcomes(key: string, trigger: CronTrigger, status: Status): void {
    const outcomes = this.#outcomes.get(key) ?? [];
    this.#outcomes.delete(key);
    for (const outcome of outcomes) {
      const run = status.active?.find((r) => r.requestId === outcome.requestId);
      if (!run) continue;
      status.active = status.active!.filter((r) => r !== run);
      if (outcome.outcome === 'Succeeded') {
        if (!status.lastSuccessfulTime || run.scheduledTime > status.lastSuccessfulTime)
          status.lastSuccessfulTime = run.scheduledTime;
      } else {
        status.lastFailure = {
          time: run.scheduledTime,
          reason: outcome.outcome,
          message: outcome.message,
        };
        this.#options.recorder.warning(
          trigger,
          'RunFailed',
          `The run scheduled at ${run.scheduledTime} (request id ${run.requestId}) failed for good: ${outcome.outcome}: ${outcome.message}`,
        );
      }
    }
    if (status.active?.length === 0) status.active = undefined;
  }

  /**
   * Outcomes are announced, not stored: one announced while no leader
   * listened is never heard. A run older than the longest its function could
   * take with every retry is therefore forgotten, so that Forbid does not
   * wait for it forever.
   */
  #expireRuns(trigger: CronTrigger, status: Status, now: Date): void {
    if (!status.active) return;
    const limitMs = this.#longestRunMs(trigger);
    status.active = status.active.filter(
      (run) => now.getTime() - new Date(run.scheduledTime).getTime() <= limitMs,
    );
    if (status.active.length === 0) status.active = undefined;
  }

  #longestRunMs(trigger: CronTrigger): number {
    const target = this.#target(trigger);
    const timeout =
      target?.spec.template.spec.function.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds;
    const retries = target?.spec.async?.maxRetries ?? ASYNC_DEFAULTS.maxRetries;
    const delay = target?.spec.async?.retryDelaySeconds ?? ASYNC_DEFAULTS.retryDelaySeconds;
    return ((retries + 1) * timeout + delay * 2 ** (retries + 1) + 60) * 1000;
  }

  #target(trigger: CronTrigger): SandboxDeployment | undefined {
    return this.#options.deployments.get(
      `${trigger.metadata.namespace}/${trigger.spec.target.name}`,
    );
  }

  async #refuse(
    trigger: CronTrigger,
    status: Status,
    err: InvalidScheduleError,
  ): Promise<ReconcileResult | void> {
    status.nextScheduleTime = undefined;
    const before = status.conditions;
    status.conditions = setCondition(status.conditions, {
      type: 'Scheduled',
      status: 'False',
      reason: 'InvalidSchedule',
      message: err.message,
    });
    if (!sameStatus(before, status.conditions))
      this.#options.recorder.warning(trigger, 'InvalidSchedule', err.message);
    await this.#record(trigger, status);
    // Only an edit of the trigger can fix it.
    throw new TerminalError(
      `CronTrigger ${trigger.metadata.namespace}/${trigger.metadata.name}: ${err.message}`,
    );
  }

  async #fireDueTimes(
    trigger: CronTrigger,
    status: Status,
    schedule: Schedule,
    now: Date,
  ): Promise<CronTrigger> {
    const handled = [
      status.lastScheduleTime,
      status.lastSkipTime,
      trigger.metadata.creationTimestamp,
    ]
      .filter((t): t is string => !!t)
      .map((t) => new Date(t).getTime());
    const since = new Date(Math.max(...handled, 0));
    const { times, missed } = dueTimes(schedule, since, now, MAX_CATCH_UP);
    if (missed > 0)
      this.#options.recorder.warning(
        trigger,
        'MissedSchedules',
        `${missed} scheduled times passed while no controller ran them; only the last ${MAX_CATCH_UP} are considered`,
      );
    for (const time of times) trigger = await this.#handleTime(trigger, status, time, now);
    return trigger;
  }

  async #handleTime(
    trigger: CronTrigger,
    status: Status,
    time: Date,
    now: Date,
  ): Promise<CronTrigger> {
    const at = kubeTime(time);
    const deadline = trigger.spec.startingDeadlineSeconds;
    if (deadline !== undefined && now.getTime() - time.getTime() > deadline * 1000)
      return this.#skip(
        trigger,
        status,
        time,
        'MissedSchedule',
        `the run at ${at} is more than startingDeadlineSeconds (${deadline}) late`,
      );
    if (!this.#target(trigger))
      return this.#skip(
        trigger,
        status,
        time,
        'TargetNotFound',
        `no SandboxDeployment ${trigger.spec.target.name} in namespace ${trigger.metadata.namespace}; the run at ${at} is skipped`,
      );

    const policy = trigger.spec.concurrencyPolicy ?? CRON_DEFAULTS.concurrencyPolicy;
    const running = status.active ?? [];
    if (policy === 'Forbid' && running.length > 0)
      return this.#skip(
        trigger,
        status,
        time,
        'Skipped',
        `the run at ${at} is skipped: concurrencyPolicy is Forbid and ${running.map((r) => r.requestId).join(', ')} has not finished`,
      );
    if (policy === 'Replace' && running.length > 0) {
      for (const run of running) {
        const withdrawn = await this.#options.queue.withdraw(
          this.#targetRef(trigger),
          run.requestId,
        );
        this.#options.recorder.normal(
          trigger,
          'Replaced',
          `The run at ${run.scheduledTime} gives way to the run at ${at}${WITHDRAWAL_NOTE[withdrawn]}`,
        );
      }
      status.active = undefined;
    }

    // Recorded first: a leader that dies after this write and before the
    // send leaves a time its successor sends again under the same request
    // id, which the queue stores once; one that dies before it leaves a time
    // its successor sends. Never both, never neither.
    const requestId = runRequestId(trigger, time);
    const run: CronRun = { requestId, scheduledTime: at };
    status.lastScheduleTime = at;
    status.active = [...(status.active ?? []), run];
    trigger = await this.#record(trigger, status);
    await this.#options.queue.publish({
      ...this.#targetRef(trigger),
      requestId,
      payload: Buffer.from(JSON.stringify(makeScheduledEvent(trigger, time, requestId))),
      source: triggerSource(trigger.metadata.name!),
      acceptedAt: Date.now(),
      attempts: 0,
      notBefore: 0,
      metadata: { invocationType: 'Event' },
      ...(trigger.spec.target.alias ? { qualifier: trigger.spec.target.alias } : {}),
    });
    this.#options.recorder.normal(
      trigger,
      'Fired',
      `Sent the run scheduled at ${at} to ${targetName(trigger)} (request id ${requestId})`,
    );
    return trigger;
  }

  async #skip(
    trigger: CronTrigger,
    status: Status,
    time: Date,
    reason: string,
    message: string,
  ): Promise<CronTrigger> {
    status.lastSkipTime = kubeTime(time);
    this.#options.recorder.warning(trigger, reason, message);
    return this.#record(trigger, status);
  }

  #targetRef(trigger: CronTrigger): { namespace: string; name: string } {
    return { namespace: trigger.metadata.namespace!, name: trigger.spec.target.name };
  }

  /**
   * Writes status if it changed, with the trigger's resourceVersion: a
   * write over someone else's (another leader's) fails with a conflict, and
   * the pass starts over from a fresh read.
   */
  async #record(trigger: CronTrigger, status: Status): Promise<CronTrigger> {
    if (sameStatus(trigger.status ?? {}, status)) return trigger;
    return this.#options.client.replace(
      CronTriggers,
      { ...trigger, status: structuredClone(status) },
      {
        subresource: 'status',
      },
    );
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }
}

const WITHDRAWAL_NOTE = {
  withdrawn: ': withdrawn from the queue',
  running: ': it had started, and finishes',
  absent: ': it had finished',
} as const;

/** The target as a request names it: `name` or `name@alias`. */
function targetName(trigger: CronTrigger): string {
  const { name, alias } = trigger.spec.target;
  return alias ? `${name}@${alias}` : name;
}
