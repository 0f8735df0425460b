// Holds requests for a function that has no ready Sandbox (scaled to zero, or
// all starting) until one is ready, and asks the autoscaler to scale it from
// zero at once instead of at its next tick. A held request is released exactly
// once: to route, with 503 when the wait runs out, or with 502 at once when
// the function's current revision cannot start (its code does not load): a
// caller should not wait out 30 s to learn that. The queue per function is
// bounded, so a flood against a cold function cannot exhaust the gateway.
import { SandboxDeployments } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { findCondition } from '../kube/conditions.ts';
import { AUTOSCALING_DEFAULTS } from '../kube/api/defaults.ts';
import { ACTIVATION_ANNOTATION, revisionUsedAnnotation } from '../kube/well-known.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { functionCannotStart, noCapacity, overloaded } from './errors.ts';
import type { EndpointPool, FunctionEntry } from './function-table.ts';
import { DEFAULT_GATEWAY_LIMITS } from './limits.ts';

export interface ActivatorOptions {
  client: KubeClient;
  /** Longest a request is held (default 30 s). */
  waitMs?: number;
  /** Most requests held per function (default 1000). */
  maxHeldPerFunction?: number;
  /** Most requests held across all functions (default 10 000). */
  maxHeldTotal?: number;
  log: Logger;
  /** Observes how long each held request waited, for the cold-start metric. */
  onReleased?: (entry: FunctionEntry, waitedMs: number) => void;
}

/** How often one gateway may ask for the same function to be activated. */
const ASK_INTERVAL_MS = 2000;

export class Activator {
  readonly #options: ActivatorOptions;
  readonly #askedAt = new Map<string, number>();
  /** When this gateway last marked each tag-only revision used ("ns/name@3"). */
  readonly #usedAt = new Map<string, number>();
  #heldTotal = 0;

  constructor(options: ActivatorOptions) {
    this.#options = options;
  }

  get waitMs(): number {
    return this.#options.waitMs ?? 30_000;
  }

  /**
   * Resolves once the function has an available endpoint, before `deadline`
   * (performance.now() time) and the activator's own wait; else throws 503.
   */
  async waitForEndpoint(
    entry: FunctionEntry,
    deadline: number,
    pool?: EndpointPool,
  ): Promise<void> {
    if (entry.available(undefined, pool).length > 0) return;
    if (
      entry.held >= (this.#options.maxHeldPerFunction ?? DEFAULT_GATEWAY_LIMITS.maxHeldPerFunction)
    ) {
      throw overloaded(
        `Function ${entry.key} is starting and already has ${entry.held} requests waiting`,
      );
    }
    // Many functions starting at once must not add up to more than the gateway can hold.
    if (this.#heldTotal >= (this.#options.maxHeldTotal ?? DEFAULT_GATEWAY_LIMITS.maxHeldTotal)) {
      throw overloaded(
        `The gateway already holds ${this.#heldTotal} requests for functions that are starting`,
      );
    }
    const started = performance.now();
    const until = Math.min(deadline, started + this.waitMs);
    entry.held++;
    this.#heldTotal++;
    try {
      this.#askToActivate(entry);
      while (entry.available(undefined, pool).length === 0) {
        const failure = findCondition(entry.deployment?.status?.conditions, 'ReplicaFailure');
        if (failure?.status === 'True')
          throw functionCannotStart(entry.namespace, entry.name, failure.reason, failure.message);
        const remaining = until - performance.now();
        if (remaining <= 0)
          throw noCapacity(entry.namespace, entry.name, performance.now() - started);
        // Endpoints set aside after a refusal come back on their own: look again at least every 250 ms.
        await entry.waitForEndpointsChange(Math.min(remaining, 250));
      }
      this.#options.onReleased?.(entry, performance.now() - started);
    } finally {
      entry.held--;
      this.#heldTotal--;
    }
  }

  /**
   * Says that a request went to a revision only a tag reaches at 0%, so that
   * the deployment controller wakes it (it may be at zero) or keeps it awake
   * for another grace period. At most once per a third of the grace period
   * per revision, so that a busy tag costs a write every few seconds at most.
   */
  keepAwake(entry: FunctionEntry, revision: number): void {
    if (!entry.settings.autoscaled) return;
    const graceMs =
      (entry.deployment?.spec.autoscaling?.scaleToZeroGraceSeconds ??
        AUTOSCALING_DEFAULTS.scaleToZeroGraceSeconds) * 1000;
    const key = `${entry.key}@${revision}`;
    const now = Date.now();
    if (now - (this.#usedAt.get(key) ?? 0) < Math.max(1000, graceMs / 3)) return;
    this.#usedAt.set(key, now);
    this.#options.client
      .patch(
        SandboxDeployments,
        { namespace: entry.namespace, name: entry.name },
        {
          metadata: {
            annotations: { [revisionUsedAnnotation(revision)]: new Date(now).toISOString() },
          },
        },
      )
      .catch((err: unknown) =>
        this.#options.log.warn(
          { function: entry.key, revision, err: errorMessage(err) },
          'cannot mark a tagged revision as used',
        ),
      );
  }

  /** Marks the SandboxDeployment so that the autoscaler scales it from zero now. */
  #askToActivate(entry: FunctionEntry): void {
    if (!entry.settings.autoscaled || (entry.deployment?.spec.replicas ?? 0) > 0) return;
    const now = Date.now();
    if (now - (this.#askedAt.get(entry.key) ?? 0) < ASK_INTERVAL_MS) return;
    this.#askedAt.set(entry.key, now);
    this.#options.client
      .patch(
        SandboxDeployments,
        { namespace: entry.namespace, name: entry.name },
        { metadata: { annotations: { [ACTIVATION_ANNOTATION]: new Date(now).toISOString() } } },
      )
      .catch((err: unknown) =>
        this.#options.log.warn(
          { function: entry.key, err: errorMessage(err) },
          'cannot ask for activation',
        ),
      );
  }
}
