// The sandbox scheduler: binds each unbound Sandbox to a host pod.
//
// Informer events put Sandboxes that need a pod into `pending`. The loop takes
// everything pending at once, largest first (first-fit decreasing packs
// tighter than arrival order), and for each one filters the host pods,
// scores those that fit, assumes the choice in the cache and sends the bind
// without waiting for it, up to `maxInFlight` binds at a time. A bind is one
// optimistic write (bind-patch.ts): spec.podName and the sidecar's finalizer,
// carrying the resourceVersion the decision was made on, retried on conflict
// against a fresh read. Sandboxes that fit nowhere get
// Scheduled=False/Unschedulable with a message saying what was short, and
// wait in `unschedulable` until something frees room: a
// host pod appears or changes, a Lease comes back, a Sandbox goes away.
import type { Lease, Pod } from '../kube/api/core.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { Leases, Pods, Sandboxes } from '../kube/api/resources.ts';
import { cacheKey, splitKey, type KubeClient } from '../kube/client.ts';
import type { Component, ComponentContext } from '../kube/component.ts';
import { findCondition, kubeTime } from '../kube/conditions.ts';
import { isConflict, isInvalid, isNotFound } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Informer } from '../kube/informer.ts';
import type { SharedInformers } from '../kube/shared-informers.ts';
import { HOST_LABEL } from '../kube/well-known.ts';
import { errorMessage, RoostError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { Semaphore } from '../lib/semaphore.ts';
import { bindPatch } from './bind-patch.ts';
import { bindConflicts, creationToBind, schedulingAttempts } from './metrics.ts';
import { SchedulerCache } from './cache.ts';
import { filterHosts, unschedulableMessage } from './filters.ts';
import { DEFAULT_HOST_STALE_AFTER_MS, hostsFromPods, leaseFresh } from './host.ts';
import { needsScheduling, requestOf } from './request.ts';
import { pickHost, spreadThenPack, type ScoreContext, type Scorer } from './score.ts';
import type { Host } from './types.ts';

export const SCHEDULER_FIELD_MANAGER = 'roost-scheduler';

export class BindConflictError extends RoostError {
  constructor(sandbox: string, pod: string) {
    super(
      'ROOST_BIND_CONFLICT',
      `Cannot bind Sandbox ${sandbox} to ${pod}: it changed under every attempt (5 conflicts in a row)`,
    );
  }
}

export interface SchedulerOptions {
  client: KubeClient;
  informers: SharedInformers;
  recorder: EventRecorder;
  log: Logger;
  /** A host Lease not renewed for this long counts as stale (default 20 s). */
  staleAfterMs?: number;
  scorer?: Scorer;
  /** Binds in flight at once (default 64). */
  maxInFlight?: number;
  /** Unschedulable Sandboxes are tried again at least this often (default 30 s). */
  retryUnschedulableMs?: number;
}

export interface SchedulerStats {
  bound: number;
  conflicts: number;
  unschedulable: number;
  errors: number;
}

/** Host-pod fields whose change can make room or take it away. */
function hostFingerprint(pod: Pod): string {
  return JSON.stringify([
    pod.metadata.annotations,
    pod.metadata.deletionTimestamp,
    pod.status?.phase,
    pod.status?.conditions?.map((c) => [c.type, c.status]),
  ]);
}

export class Scheduler {
  readonly stats: SchedulerStats = { bound: 0, conflicts: 0, unschedulable: 0, errors: 0 };
  readonly cache = new SchedulerCache();
  readonly #options: SchedulerOptions;
  readonly #sandboxes: Informer<Sandbox>;
  readonly #pods: Informer<Pod>;
  readonly #leases: Informer<Lease>;
  readonly #staleAfterMs: number;
  readonly #scorer: Scorer;
  readonly #slots: Semaphore;
  readonly #pending = new Set<string>();
  readonly #unschedulable = new Set<string>();
  readonly #failures = new Map<string, number>();
  #wake: (() => void) | undefined;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_HOST_STALE_AFTER_MS;
    this.#scorer = options.scorer ?? spreadThenPack;
    this.#slots = new Semaphore(options.maxInFlight ?? 64);
    this.#sandboxes = options.informers.for(Sandboxes);
    this.#pods = options.informers.for(Pods, { labelSelector: `${HOST_LABEL}=true` });
    this.#leases = options.informers.for(Leases);

    this.#sandboxes.addHandlers({
      onAdd: (sandbox) => this.#onSandbox(sandbox),
      onUpdate: (_old, sandbox) => this.#onSandbox(sandbox),
      onDelete: (sandbox) => {
        const key = cacheKey(sandbox);
        this.#pending.delete(key);
        this.#unschedulable.delete(key);
        this.#failures.delete(key);
        if (this.cache.delete(sandbox)) this.#retryUnschedulable('a Sandbox was deleted');
      },
    });
    this.#pods.addHandlers({
      onAdd: () => this.#retryUnschedulable('a host pod was added'),
      onUpdate: (old, pod) => {
        if (hostFingerprint(old) !== hostFingerprint(pod))
          this.#retryUnschedulable('a host pod changed');
      },
    });
    this.#leases.addHandlers({
      onUpdate: (old, lease) => {
        const now = Date.now();
        const fresh = { now, staleAfterMs: this.#staleAfterMs };
        if (!leaseFresh(old, fresh) && leaseFresh(lease, fresh))
          this.#retryUnschedulable('a host Lease was renewed');
      },
      onAdd: () => this.#retryUnschedulable('a Lease was added'),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const retry = setInterval(
      () => this.#retryUnschedulable('periodic retry'),
      this.#options.retryUnschedulableMs ?? 30_000,
    );
    const wake = () => this.#wake?.();
    signal.addEventListener('abort', wake, { once: true });
    try {
      while (!signal.aborted) {
        if (this.#pending.size === 0) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          continue;
        }
        await this.#scheduleBatch(signal);
      }
    } finally {
      clearInterval(retry);
      signal.removeEventListener('abort', wake);
      await this.#slots.drained();
    }
  }

  #onSandbox(sandbox: Sandbox): void {
    const key = cacheKey(sandbox);
    if (this.cache.update(sandbox)) this.#retryUnschedulable('a Sandbox freed its place');
    if (needsScheduling(sandbox) && !this.cache.isAssumed(key)) {
      if (!this.#unschedulable.has(key)) this.#enqueue(key);
    } else {
      this.#pending.delete(key);
      this.#unschedulable.delete(key);
    }
  }

  #enqueue(key: string): void {
    this.#pending.add(key);
    this.#wake?.();
  }

  #retryUnschedulable(why: string): void {
    if (this.#unschedulable.size === 0) return;
    this.#options.log.debug({ why, count: this.#unschedulable.size }, 'retrying unschedulable');
    for (const key of this.#unschedulable) this.#pending.add(key);
    this.#unschedulable.clear();
    this.#wake?.();
  }

  async #scheduleBatch(signal: AbortSignal): Promise<void> {
    const batch = [...this.#pending]
      .map((key) => this.#sandboxes.store.get(key))
      .filter((s): s is Sandbox => !!s && needsScheduling(s) && !this.cache.isAssumed(cacheKey(s)));
    this.#pending.clear();
    batch.sort(
      (a, b) =>
        requestOf(b).memoryMiB - requestOf(a).memoryMiB ||
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        cacheKey(a).localeCompare(cacheKey(b)),
    );
    let hosts: Host[] = [];
    let hostsAt = 0;
    for (const sandbox of batch) {
      if (signal.aborted) return;
      await this.#slots.acquire();
      if (signal.aborted) {
        this.#slots.release();
        return;
      }
      // Readiness and Lease age change with time: rebuild the view now and then.
      if (Date.now() - hostsAt > 1000) {
        hosts = this.#hosts();
        hostsAt = Date.now();
      }
      // The Sandbox may have changed while we waited for a slot.
      const current = this.#sandboxes.store.get(cacheKey(sandbox));
      if (!current || !needsScheduling(current) || this.cache.isAssumed(cacheKey(current))) {
        this.#slots.release();
        continue;
      }
      void this.#scheduleOne(current, hosts).finally(() => this.#slots.release());
    }
  }

  #hosts(): Host[] {
    const leases = this.#leases.store;
    return hostsFromPods(
      this.#pods.store.list(),
      (pod) => leases.get(`${pod.metadata.namespace}/${pod.metadata.name}`),
      { now: Date.now(), staleAfterMs: this.#staleAfterMs },
    );
  }

  #scoreContext(hosts: Host[]): ScoreContext {
    const usageOf = (host: Host) => this.cache.usage(host.name);
    return {
      usageOf,
      replicasOnNode: (deployment, nodeName) => {
        let count = 0;
        for (const host of hosts)
          if (host.nodeName === nodeName) count += usageOf(host).deployments.get(deployment) ?? 0;
        return count;
      },
    };
  }

  /** Decides synchronously (so the next decision sees this one), then binds. */
  async #scheduleOne(sandbox: Sandbox, hosts: Host[]): Promise<void> {
    const request = requestOf(sandbox);
    const context = this.#scoreContext(hosts);
    const { feasible, failures } = filterHosts(hosts, context.usageOf, request);
    const host = pickHost(feasible, context, request, this.#scorer);
    if (!host) {
      schedulingAttempts.labels('unschedulable').inc();
      this.#unschedulable.add(request.key);
      await this.#markUnschedulable(sandbox, unschedulableMessage(hosts.length, failures));
      return;
    }
    this.cache.assume(request, host.name);
    await this.#bind(sandbox, host.name);
  }

  async #bind(sandbox: Sandbox, podName: string): Promise<void> {
    const { client, recorder, log } = this.#options;
    const key = cacheKey(sandbox);
    let current = sandbox;
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await client.patch(Sandboxes, splitKey(key), bindPatch(current, podName));
          this.stats.bound++;
          schedulingAttempts.labels('bound').inc();
          const created = Date.parse(sandbox.metadata.creationTimestamp ?? '');
          if (!Number.isNaN(created))
            creationToBind.observe(Math.max(0, Date.now() - created) / 1000);
          this.#failures.delete(key);
          recorder.normal(sandbox, 'Scheduled', `Successfully assigned ${key} to ${podName}`);
          return;
        } catch (err) {
          // 422: the API refuses to move a bound Sandbox; someone bound it first.
          if (!isConflict(err) && !isInvalid(err)) throw err;
          this.stats.conflicts++;
          bindConflicts.inc();
          const latest = await client.get(Sandboxes, splitKey(key));
          if (!needsScheduling(latest)) {
            this.cache.forget(key);
            this.cache.update(latest);
            return;
          }
          current = latest;
        }
      }
      throw new BindConflictError(key, podName);
    } catch (err) {
      this.cache.forget(key);
      if (isNotFound(err)) return;
      this.stats.errors++;
      schedulingAttempts.labels('error').inc();
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const delay = Math.min(10_000, 100 * 2 ** failures);
      log.warn(
        { sandbox: key, pod: podName, err: errorMessage(err), retryInMs: delay },
        'bind failed',
      );
      setTimeout(() => this.#enqueue(key), delay).unref();
    }
  }

  async #markUnschedulable(sandbox: Sandbox, message: string): Promise<void> {
    const { client, recorder, log } = this.#options;
    const current = findCondition(sandbox.status?.conditions, 'Scheduled');
    if (
      current?.status === 'False' &&
      current.reason === 'Unschedulable' &&
      current.message === message
    )
      return;
    this.stats.unschedulable++;
    recorder.warning(sandbox, 'Unschedulable', message);
    try {
      await client.applyStatus(
        Sandboxes,
        splitKey(cacheKey(sandbox)),
        {
          phase: 'Pending',
          conditions: [
            {
              type: 'Scheduled',
              status: 'False',
              reason: 'Unschedulable',
              message,
              lastTransitionTime:
                current?.status === 'False' ? current.lastTransitionTime : kubeTime(),
            },
          ],
        },
        { fieldManager: SCHEDULER_FIELD_MANAGER },
      );
    } catch (err) {
      if (!isNotFound(err))
        log.warn({ sandbox: cacheKey(sandbox), err: errorMessage(err) }, 'cannot write status');
    }
  }
}

export interface SchedulerComponentOptions {
  staleAfterMs?: number;
}

export function schedulerComponent(options: SchedulerComponentOptions = {}): Component {
  return {
    name: 'scheduler',
    setup(context: ComponentContext) {
      const scheduler = new Scheduler({
        client: context.client,
        informers: context.informers,
        recorder: context.recorder,
        log: context.log.child({ component: 'scheduler' }),
        staleAfterMs: options.staleAfterMs,
      });
      return { run: () => scheduler.run(context.signal) };
    },
  };
}
