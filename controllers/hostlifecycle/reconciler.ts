// Reconciles the Sandboxes bound to one host pod name:
//
//   1. judgeHost: is the host lost? (lost.ts: pod gone or stopped, no Lease
//      renewal seen for the grace period while we could hear the API server)
//   2. while it is fine, look again when it would go stale;
//   3. once it is lost, evictAll: every Sandbox at once (bounded
//      concurrency), each marked Failed (reason HostLost), deleted so that its
//      ReplicaSet replaces it elsewhere, and, when no sidecar will ever run
//      there again, released from the sidecar's finalizer on its behalf.
//
// One Sandbox failing to move does not hold back the others: the rest move
// now, and the host is retried for those that did not.
import type { Lease, Pod } from '../../kube/api/core.ts';
import type { Sandbox } from '../../kube/api/roost.ts';
import { Sandboxes } from '../../kube/api/resources.ts';
import type { ApiContact } from '../../kube/api-contact.ts';
import { keyOf, type KubeClient } from '../../kube/client.ts';
import { kubeTime } from '../../kube/conditions.ts';
import type { ReconcileResult } from '../../kube/controller.ts';
import { isNotFound } from '../../kube/errors.ts';
import { removeFinalizer } from '../../kube/finalizers.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Store } from '../../kube/informer.ts';
import { HOST_LOST_REASON, SIDECAR_FINALIZER } from '../../kube/well-known.ts';
import { errorMessage } from '../../lib/errors.ts';
import { Semaphore } from '../../lib/semaphore.ts';
import { EvictionIncompleteError } from '../errors.ts';
import type { Heartbeats } from './heartbeats.ts';
import { hostState, type HostState } from './lost.ts';

export const CONTROLLER_FIELD_MANAGER = 'roost-controller';
export const SANDBOXES_BY_POD = 'podName';
export const PODS_BY_NAME = 'name';
/** Writes in flight per lost host: a full host (128 Sandboxes) moves in a few round trips. */
const EVICTION_CONCURRENCY = 16;

export interface HostLifecycleReconcilerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  /** Host pods, with index PODS_BY_NAME. */
  pods: Store<Pod>;
  leases: Store<Lease>;
  /** With index SANDBOXES_BY_POD. */
  sandboxes: Store<Sandbox>;
  heartbeats: Heartbeats;
  contact: ApiContact;
  graceMs: number;
  now?: () => number;
}

export class HostLifecycleReconciler {
  readonly #options: HostLifecycleReconcilerOptions;

  constructor(options: HostLifecycleReconcilerOptions) {
    this.#options = options;
  }

  async reconcile(podName: string): Promise<ReconcileResult | void> {
    const bound = this.#options.sandboxes.byIndex(SANDBOXES_BY_POD, podName);
    if (bound.length === 0) return;
    const { pod, state } = this.#judgeHost(podName);
    if (!state.lost) return { requeueAfterMs: state.recheckInMs };

    if (pod && bound.some((s) => !s.metadata.deletionTimestamp))
      this.#options.recorder.warning(
        pod,
        HOST_LOST_REASON,
        `${state.message}: moving its ${bound.length} Sandboxes elsewhere`,
      );
    await this.#evictAll(podName, bound, state.message, state.final);
    // Not final: the sidecar may still remove its finalizers; look again in case it does not.
    if (!state.final) return { requeueAfterMs: 5000 };
  }

  #judgeHost(podName: string): { pod: Pod | undefined; state: HostState } {
    const { pods, leases, heartbeats, contact, graceMs } = this.#options;
    const now = (this.#options.now ?? Date.now)();
    // Host pod names are unique across namespaces (the scheduler refuses duplicates).
    const pod = pods.byIndex(PODS_BY_NAME, podName)[0];
    const lease = pod ? leases.get(`${pod.metadata.namespace}/${podName}`) : undefined;
    const state = hostState({
      podName,
      pod,
      lease,
      heartbeatAt: heartbeats.lastChangeAt(podName, now),
      contactSince: contact.unbrokenSince(),
      now,
      graceMs,
    });
    return { pod, state };
  }

  async #evictAll(podName: string, bound: Sandbox[], message: string, final: boolean) {
    const slots = new Semaphore(EVICTION_CONCURRENCY);
    const results = await Promise.allSettled(
      bound.map(async (sandbox) => {
        await slots.acquire();
        try {
          await this.#evict(sandbox, message, final);
        } finally {
          slots.release();
        }
      }),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    if (failures.length > 0)
      throw new EvictionIncompleteError(
        podName,
        failures.length,
        bound.length,
        errorMessage(failures[0]!.reason),
      );
  }

  async #evict(sandbox: Sandbox, message: string, final: boolean): Promise<void> {
    const { client, recorder } = this.#options;
    const key = keyOf(sandbox);
    try {
      if (!sandbox.metadata.deletionTimestamp) {
        if (final) await this.#markFailed(sandbox, message);
        recorder.warning(
          sandbox,
          HOST_LOST_REASON,
          `${message}; deleting the Sandbox so that it is replaced elsewhere`,
        );
        await client.delete(Sandboxes, key, { preconditions: { uid: sandbox.metadata.uid } });
      }
      if (final) await removeFinalizer(this.#options.client, Sandboxes, sandbox, SIDECAR_FINALIZER);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async #markFailed(sandbox: Sandbox, message: string): Promise<void> {
    await this.#options.client.applyStatus(
      Sandboxes,
      keyOf(sandbox),
      {
        phase: 'Failed',
        reason: HOST_LOST_REASON,
        message,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: HOST_LOST_REASON,
            message,
            lastTransitionTime: kubeTime(),
          },
        ],
      },
      { fieldManager: CONTROLLER_FIELD_MANAGER },
    );
  }
}
