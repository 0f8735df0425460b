// Leader election on a coordination.k8s.io Lease, in the manner of client-go's
// leaderelection package: candidates try to take or renew the Lease every
// retry period with an optimistic write; a holder that cannot renew within
// the renew deadline stops leading at once (before the Lease can expire and
// another take it), and a candidate judges expiry by its own clock, from when
// it last saw the record change, so that clock skew between machines does not
// matter. On shutdown the leader releases the Lease so a standby takes over
// without waiting for it to expire.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Lease } from './api/core.ts';
import type { OwnerReference } from './api/meta.ts';
import { Leases } from './api/resources.ts';
import type { KubeClient } from './client.ts';
import { isAlreadyExists, isCancelled, isConflict, isNotFound } from './errors.ts';
import { sleep } from '../lib/duration.ts';
import { errorMessage, RoostError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { gauge } from '../lib/metrics.ts';

const leaderStatus = gauge({
  name: 'roost_leader_status',
  help: 'Whether this process leads (1) or not (0), by Lease (namespace/name).',
  labelNames: ['lease'],
});

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Unique per process; defaults to hostname_pid_random. */
  identity?: string;
  /** How long a Lease holds without renewal (default 10 s). */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long gives up (default 7 s; below leaseDurationMs). */
  renewDeadlineMs?: number;
  /** How often to try (default 2 s). */
  retryPeriodMs?: number;
  /**
   * Set as the Lease's owner when this elector creates it: in a cluster, the
   * controller's ServiceAccount, so that uninstalling Roost removes the Lease
   * with it (the garbage collector follows the reference).
   */
  owner?: OwnerReference;
  /**
   * Called on becoming leader. `signal` aborts the moment leadership is lost
   * or the elector stops; everything started here must stop with it.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called after leadership is lost or given up. */
  onStoppedLeading?(): void;
  log: Logger;
}

/** A process's Lease, as its flags give it (roost controller, roost triggers). */
export interface LeaseSettings {
  namespace: string;
  name: string;
  identity?: string;
  durationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Owns the Lease, so it goes when Roost is uninstalled (see LeaderElectionOptions.owner). */
  owner?: OwnerReference;
}

/** The elector for a process's Lease settings (10 s, 7 s and 2 s when unset). */
export function electorFor(
  lease: LeaseSettings,
  options: Pick<LeaderElectionOptions, 'client' | 'log' | 'onStartedLeading' | 'onStoppedLeading'>,
): LeaderElector {
  return new LeaderElector({
    ...options,
    namespace: lease.namespace,
    name: lease.name,
    identity: lease.identity,
    leaseDurationMs: lease.durationMs ?? 10_000,
    renewDeadlineMs: lease.renewDeadlineMs ?? 7_000,
    retryPeriodMs: lease.retryPeriodMs ?? 2_000,
    owner: lease.owner,
  });
}

export class LeaderElectionConfigError extends RoostError {
  constructor(message: string) {
    super('ROOST_LEADER_ELECTION_CONFIG', message);
  }
}

/** MicroTime: RFC 3339 with microseconds, as the Lease API stores renewTime. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The leader's work failed; the term was ended and the Lease handed back. */
export class LeaderWorkFailedError extends RoostError {
  constructor(cause: unknown) {
    super('ROOST_LEADER_WORK_FAILED', `The leader's work failed: ${errorMessage(cause)}`, {
      cause,
    });
  }
}

/** A call cancelled because the elector or its term is stopping, not by a deadline: nothing to warn about. */
function stopping(err: unknown, signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return isCancelled(err) && !(reason instanceof DOMException && reason.name === 'TimeoutError');
}

export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export class LeaderElector {
  readonly identity: string;
  readonly #options: LeaderElectionOptions;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  #observed: { holder?: string; renewTime?: string; resourceVersion?: string } = {};
  #observedAt = 0;
  #leading = false;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.identity = options.identity ?? defaultIdentity();
    this.#leaseDurationMs = options.leaseDurationMs ?? 10_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 7_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    leaderStatus.labels(this.#leaseName).set(0);
    if (this.#renewDeadlineMs >= this.#leaseDurationMs)
      throw new LeaderElectionConfigError(
        `Cannot elect a leader: renewDeadlineMs (${this.#renewDeadlineMs}) must be below leaseDurationMs (${this.#leaseDurationMs}), or two leaders could overlap`,
      );
    if (this.#retryPeriodMs >= this.#renewDeadlineMs)
      throw new LeaderElectionConfigError(
        `Cannot elect a leader: retryPeriodMs (${this.#retryPeriodMs}) must be below renewDeadlineMs (${this.#renewDeadlineMs})`,
      );
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns, leads, and campaigns again after losing, until `signal`
   * aborts; then releases the Lease if held and resolves. If the leader's
   * work fails (onStartedLeading rejects), the term ends, the Lease is
   * released so that a standby takes over at once, and run() rejects with
   * LeaderWorkFailedError: as controller-runtime's manager does, the process
   * should exit and be restarted rather than lead with a part of it dead.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const acquiredAt = await this.#acquire(signal);
      if (acquiredAt === undefined) break;
      await this.#lead(signal, acquiredAt);
    }
  }

  /** Resolves with when the winning attempt started, or undefined once `signal` aborts. */
  async #acquire(signal: AbortSignal): Promise<number | undefined> {
    while (!signal.aborted) {
      const startedAt = Date.now();
      if (await this.#tryAcquireOrRenew(this.#attemptSignal(signal, this.#renewDeadlineMs)))
        return startedAt;
      await sleep(this.#retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    return undefined;
  }

  /**
   * Leads from `renewedAt` (when the Lease was last written as ours) until the
   * Lease is lost, cannot be renewed within the renew deadline, the leader's
   * work fails, or `signal` aborts. The renew deadline is kept by a timer of
   * its own, not by the renewal loop: a renewal stuck on a hung API server is
   * cut off at the deadline, and the term ends at the deadline even if it is
   * not, so others, who wait a whole lease duration from when they last saw
   * the Lease change, never see two leaders act.
   */
  async #lead(signal: AbortSignal, renewedAt: number): Promise<void> {
    const { log } = this.#options;
    const term = new AbortController();
    let ending = '';
    const endTerm = (why: string) => {
      if (term.signal.aborted) return;
      ending = why;
      term.abort(new Error(why));
    };
    const onStop = () => endTerm('stopped');
    signal.addEventListener('abort', onStop, { once: true });
    let lastRenew = renewedAt;
    let watchdog = this.#armDeadline(lastRenew, endTerm);
    this.#leading = true;
    leaderStatus.labels(this.#leaseName).set(1);
    log.info({ identity: this.identity, lease: this.#leaseName }, 'became leader');
    let failure: unknown;
    const started = Promise.resolve()
      .then(() => this.#options.onStartedLeading(term.signal))
      .catch((err: unknown) => {
        failure = err;
        endTerm('the leader work failed');
      });

    while (!term.signal.aborted) {
      await sleep(this.#retryPeriodMs, term.signal);
      if (term.signal.aborted) break;
      const attemptAt = Date.now();
      const left = lastRenew + this.#renewDeadlineMs - attemptAt;
      const renewed = await this.#tryAcquireOrRenew(this.#attemptSignal(term.signal, left));
      if (renewed) {
        lastRenew = attemptAt;
        clearTimeout(watchdog);
        watchdog = this.#armDeadline(lastRenew, endTerm);
        continue;
      }
      // Someone else holds it now: stop at once. Otherwise keep trying until
      // the deadline timer ends the term.
      if (this.#observed.holder !== this.identity) endTerm('lost the Lease');
    }
    clearTimeout(watchdog);
    this.#leading = false;
    leaderStatus.labels(this.#leaseName).set(0);
    signal.removeEventListener('abort', onStop);
    log.info(
      { identity: this.identity, why: ending },
      signal.aborted ? 'stopped leading' : 'lost leadership',
    );
    await started;
    // Hand the Lease back when stopping or failing, so that a standby need not
    // wait for it to expire; not after a deadline, when it is no longer ours
    // to give with any certainty.
    if (signal.aborted || failure !== undefined) await this.#release();
    this.#options.onStoppedLeading?.();
    if (failure !== undefined) throw new LeaderWorkFailedError(failure);
  }

  /** Ends the term once `renewedAt` is a renew deadline old. */
  #armDeadline(renewedAt: number, endTerm: (why: string) => void): NodeJS.Timeout {
    const left = Math.max(0, renewedAt + this.#renewDeadlineMs - Date.now());
    return setTimeout(
      () =>
        endTerm(`could not renew the Lease within the ${this.#renewDeadlineMs} ms renew deadline`),
      left,
    );
  }

  /** One attempt's calls end with `signal` or after `ms`, whichever comes first. */
  #attemptSignal(signal: AbortSignal, ms: number): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, ms))]);
  }

  get #leaseName(): string {
    return `${this.#options.namespace}/${this.#options.name}`;
  }

  /** One attempt; `signal` cuts off its calls (the renew deadline, the term). */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, log } = this.#options;
    const now = Date.now();
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease;
    try {
      lease = await client.get(Leases, { namespace, name }, { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        if (!stopping(err, signal))
          log.warn({ err: errorMessage(err) }, 'cannot read the leader Lease');
        return false;
      }
      try {
        const created = await client.create(
          Leases,
          {
            metadata: {
              namespace,
              name,
              ...(this.#options.owner ? { ownerReferences: [this.#options.owner] } : {}),
            },
            spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 },
          },
          { signal },
        );
        this.#observe(created, now);
        return true;
      } catch (createErr) {
        if (!isAlreadyExists(createErr) && !stopping(createErr, signal))
          log.warn({ err: errorMessage(createErr) }, 'cannot create the leader Lease');
        return false;
      }
    }

    this.#observe(lease, now);
    const holder = lease.spec.holderIdentity;
    const heldByOther = !!holder && holder !== this.identity;
    const durationMs = (lease.spec.leaseDurationSeconds ?? 0) * 1000 || this.#leaseDurationMs;
    if (heldByOther && this.#observedAt + durationMs > now) return false;

    const takingOver = holder !== this.identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...lease.spec,
        ...spec,
        acquireTime: takingOver ? spec.renewTime : lease.spec.acquireTime,
        leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (takingOver && holder ? 1 : 0),
      },
    };
    try {
      // The resourceVersion in `next` makes this an optimistic write: of two
      // candidates that both saw the Lease expire, only one succeeds.
      const updated = await client.replace(Leases, next, { signal });
      this.#observe(updated, now);
      return true;
    } catch (err) {
      if (!isConflict(err) && !stopping(err, signal))
        log.warn({ err: errorMessage(err) }, 'cannot update the leader Lease');
      return false;
    }
  }

  #observe(lease: Lease, now: number): void {
    const record = {
      holder: lease.spec.holderIdentity,
      renewTime: lease.spec.renewTime,
      resourceVersion: lease.metadata.resourceVersion,
    };
    if (record.holder !== this.#observed.holder || record.renewTime !== this.#observed.renewTime)
      this.#observedAt = now;
    this.#observed = record;
  }

  /** Hands the Lease back so that a standby need not wait for it to expire. */
  async #release(): Promise<void> {
    const { client, namespace, name, log } = this.#options;
    const signal = AbortSignal.timeout(this.#renewDeadlineMs);
    try {
      const lease = await client.get(Leases, { namespace, name }, { signal });
      if (lease.spec.holderIdentity !== this.identity) return;
      await client.replace(
        Leases,
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(Date.now()),
          },
        },
        { signal },
      );
      log.info({ identity: this.identity }, 'released the leader Lease');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot release the leader Lease');
    }
  }
}
