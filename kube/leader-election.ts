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
import { isAlreadyExists, isConflict, isNotFound } from './errors.ts';
import { sleep } from '../lib/duration.ts';
import { errorMessage, RoostError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

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

export class LeaderElectionConfigError extends RoostError {
  constructor(message: string) {
    super('ROOST_LEADER_ELECTION_CONFIG', message);
  }
}

/** MicroTime: RFC 3339 with microseconds, as the Lease API stores renewTime. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
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
   * aborts; then releases the Lease if held and resolves.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#acquire(signal);
      if (signal.aborted) break;
      await this.#lead(signal);
    }
  }

  async #acquire(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) return;
      await sleep(this.#retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
  }

  async #lead(signal: AbortSignal): Promise<void> {
    const { log } = this.#options;
    const term = new AbortController();
    const stopTerm = () => term.abort();
    signal.addEventListener('abort', stopTerm, { once: true });
    this.#leading = true;
    log.info({ identity: this.identity, lease: this.#leaseName }, 'became leader');
    const started = Promise.resolve()
      .then(() => this.#options.onStartedLeading(term.signal))
      .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'leader work failed'));

    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.#retryPeriodMs, signal);
      if (signal.aborted) break;
      const renewed = await this.#tryAcquireOrRenew();
      if (renewed) {
        lastRenew = Date.now();
        continue;
      }
      // Someone else holds it now, or we cannot reach the server: give up
      // before our Lease can expire so that two leaders never act at once.
      if (
        this.#observed.holder !== this.identity ||
        Date.now() - lastRenew >= this.#renewDeadlineMs
      )
        break;
    }
    this.#leading = false;
    term.abort();
    signal.removeEventListener('abort', stopTerm);
    log.info({ identity: this.identity }, signal.aborted ? 'stopped leading' : 'lost leadership');
    await started;
    if (signal.aborted) await this.#release();
    this.#options.onStoppedLeading?.();
  }

  get #leaseName(): string {
    return `${this.#options.namespace}/${this.#options.name}`;
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, log } = this.#options;
    const now = Date.now();
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease;
    try {
      lease = await client.get(Leases, { namespace, name });
    } catch (err) {
      if (!isNotFound(err)) {
        log.warn({ err: errorMessage(err) }, 'cannot read the leader Lease');
        return false;
      }
      try {
        const created = await client.create(Leases, {
          metadata: {
            namespace,
            name,
            ...(this.#options.owner ? { ownerReferences: [this.#options.owner] } : {}),
          },
          spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 },
        });
        this.#observe(created, now);
        return true;
      } catch (createErr) {
        if (!isAlreadyExists(createErr))
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
      const updated = await client.replace(Leases, next);
      this.#observe(updated, now);
      return true;
    } catch (err) {
      if (!isConflict(err)) log.warn({ err: errorMessage(err) }, 'cannot update the leader Lease');
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
    try {
      const lease = await client.get(Leases, { namespace, name });
      if (lease.spec.holderIdentity !== this.identity) return;
      await client.replace(Leases, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(Date.now()),
        },
      });
      log.info({ identity: this.identity }, 'released the leader Lease');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot release the leader Lease');
    }
  }
}
