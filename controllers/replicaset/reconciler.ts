// Reconciles one SandboxReplicaSet: observe the Sandboxes it owns (adopting
// and releasing by selector), compare their number with spec.replicas, act
// (create or delete) only when the cache has seen our previous writes, and
// record status when it changed.
import type { Sandbox, SandboxReplicaSet } from '../../kube/api/roost.ts';
import { SandboxReplicaSets, Sandboxes } from '../../kube/api/resources.ts';
import { cacheKey, keyOf, splitKey, type KubeClient } from '../../kube/client.ts';
import type { ReconcileResult } from '../../kube/controller.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Expectations } from '../../kube/expectations.ts';
import type { Store } from '../../kube/informer.ts';
import { errorMessage } from '../../lib/errors.ts';
import { ReplicasNotReachedError } from '../errors.ts';
import { claimChildren } from '../shared/owners.ts';
import { isTerminating } from '../shared/sandbox-state.ts';
import { slowStartBatch } from '../shared/slow-start.ts';
import { sameStatus } from '../shared/status.ts';
import { rankForDeletion } from './resources/ranking.ts';
import { makeSandbox } from './resources/sandbox.ts';
import { computeStatus } from './resources/status.ts';

/** Most Sandboxes one reconcile creates or deletes, as Kubernetes' burstReplicas. */
export const BURST_REPLICAS = 500;

export const SANDBOXES_BY_NAMESPACE = 'namespace';

export interface ReplicaSetReconcilerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  expectations: Expectations;
  replicaSets: Store<SandboxReplicaSet>;
  /** With an index SANDBOXES_BY_NAMESPACE. */
  sandboxes: Store<Sandbox>;
}

export class ReplicaSetReconciler {
  readonly #options: ReplicaSetReconcilerOptions;

  constructor(options: ReplicaSetReconcilerOptions) {
    this.#options = options;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { expectations } = this.#options;
    const replicaSet = this.#options.replicaSets.get(key);
    if (!replicaSet) {
      expectations.delete(key);
      return;
    }
    const owned = await this.#observe(replicaSet);
    const active = owned.filter((s) => !isTerminating(s));
    let failure: { reason: string; message: string } | undefined;
    if (expectations.satisfied(key) && !replicaSet.metadata.deletionTimestamp)
      failure = await this.#manageReplicas(key, replicaSet, active);
    const { status, requeueAfterMs } = computeStatus({
      replicaSet,
      active,
      now: Date.now(),
      failure,
    });
    await this.#recordStatus(replicaSet, status);
    if (failure)
      throw new ReplicasNotReachedError(key, replicaSet.spec.replicas ?? 1, failure.message);
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  async #observe(replicaSet: SandboxReplicaSet): Promise<Sandbox[]> {
    const candidates = this.#options.sandboxes.byIndex(
      SANDBOXES_BY_NAMESPACE,
      replicaSet.metadata.namespace!,
    );
    return claimChildren({
      client: this.#options.client,
      owner: replicaSet,
      ownerType: SandboxReplicaSets,
      childType: Sandboxes,
      selector: replicaSet.spec.selector,
      children: candidates,
    });
  }

  /** Returns why it could not act fully, if it could not. */
  async #manageReplicas(
    key: string,
    replicaSet: SandboxReplicaSet,
    active: Sandbox[],
  ): Promise<{ reason: string; message: string } | undefined> {
    const { client, recorder, expectations } = this.#options;
    const desired = replicaSet.spec.replicas ?? 1;
    const diff = active.length - desired;
    if (diff < 0) {
      const count = Math.min(-diff, BURST_REPLICAS);
      expectations.expectCreations(key, count);
      const result = await slowStartBatch(count, async () => {
        try {
          const created = await client.create(Sandboxes, makeSandbox(replicaSet));
          recorder.normal(
            replicaSet,
            'SuccessfulCreate',
            `Created sandbox: ${created.metadata.name}`,
          );
        } catch (err) {
          // It will never be observed: count it now so the set is not held back.
          expectations.creationObserved(key);
          recorder.warning(replicaSet, 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          throw err;
        }
      });
      for (let i = 0; i < result.skipped; i++) expectations.creationObserved(key);
      if (result.error) return { reason: 'FailedCreate', message: errorMessage(result.error) };
    } else if (diff > 0) {
      const victims = rankForDeletion(active).slice(0, Math.min(diff, BURST_REPLICAS));
      expectations.expectDeletions(
        key,
        victims.map((s) => s.metadata.uid!),
      );
      const results = await Promise.allSettled(
        victims.map(async (sandbox) => {
          try {
            await client.delete(Sandboxes, keyOf(sandbox), {
              preconditions: { uid: sandbox.metadata.uid },
            });
            recorder.normal(
              replicaSet,
              'SuccessfulDelete',
              `Deleted sandbox: ${sandbox.metadata.name}`,
            );
          } catch (err) {
            expectations.deletionObserved(key, sandbox.metadata.uid!);
            if (isNotFound(err)) return;
            recorder.warning(replicaSet, 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) return { reason: 'FailedDelete', message: errorMessage(failed.reason) };
    }
    return undefined;
  }

  async #recordStatus(
    replicaSet: SandboxReplicaSet,
    status: NonNullable<SandboxReplicaSet['status']>,
  ): Promise<void> {
    if (sameStatus(replicaSet.status ?? {}, status)) return;
    try {
      await this.#options.client.patch(
        SandboxReplicaSets,
        splitKey(cacheKey(replicaSet)),
        { status },
        { subresource: 'status' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
