// Reconciles the Sandboxes bound to one host pod name: while the host is
// fine, look again when its Lease would go stale; once it is lost, mark each
// Sandbox Failed (reason HostLost), delete it so that its ReplicaSet
// replaces it on another pod, and, when no sidecar will ever run there
// again, remove the sidecar's finalizer on its behalf.
import type { Lease, Pod } from '../../kube/api/core.ts';
import type { Sandbox } from '../../kube/api/roost.ts';
import { Sandboxes } from '../../kube/api/resources.ts';
import { keyOf, type KubeClient } from '../../kube/client.ts';
import { kubeTime } from '../../kube/conditions.ts';
import type { ReconcileResult } from '../../kube/controller.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Store } from '../../kube/informer.ts';
import { SIDECAR_FINALIZER } from '../../kube/well-known.ts';
import { hostState } from './lost.ts';

export const CONTROLLER_FIELD_MANAGER = 'roost-controller';
export const SANDBOXES_BY_POD = 'podName';
export const PODS_BY_NAME = 'name';

export interface HostLifecycleReconcilerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  /** Host pods, with index PODS_BY_NAME. */
  pods: Store<Pod>;
  leases: Store<Lease>;
  /** With index SANDBOXES_BY_POD. */
  sandboxes: Store<Sandbox>;
  graceMs: number;
}

export class HostLifecycleReconciler {
  readonly #options: HostLifecycleReconcilerOptions;

  constructor(options: HostLifecycleReconcilerOptions) {
    this.#options = options;
  }

  async reconcile(podName: string): Promise<ReconcileResult | void> {
    const { pods, leases, sandboxes, graceMs } = this.#options;
    const bound = sandboxes.byIndex(SANDBOXES_BY_POD, podName);
    if (bound.length === 0) return;
    // Host pod names are unique across namespaces (the scheduler refuses duplicates).
    const pod = pods.byIndex(PODS_BY_NAME, podName)[0];
    const lease = pod ? leases.get(`${pod.metadata.namespace}/${podName}`) : undefined;
    const state = hostState({ podName, pod, lease, now: Date.now(), graceMs });
    if (!state.lost) return { requeueAfterMs: state.recheckInMs };

    for (const sandbox of bound) await this.#evict(sandbox, state.message, state.final);
    if (pod && bound.some((s) => !s.metadata.deletionTimestamp))
      this.#options.recorder.warning(
        pod,
        'HostLost',
        `${state.message}: moving its Sandboxes elsewhere`,
      );
    // Not final: the sidecar may still remove its finalizers; look again in case it does not.
    if (!state.final) return { requeueAfterMs: 5000 };
  }

  async #evict(sandbox: Sandbox, message: string, final: boolean): Promise<void> {
    const { client, recorder } = this.#options;
    const key = keyOf(sandbox);
    try {
      if (!sandbox.metadata.deletionTimestamp) {
        if (final) await this.#markFailed(sandbox, message);
        recorder.warning(
          sandbox,
          'HostLost',
          `${message}; deleting the Sandbox so that it is replaced elsewhere`,
        );
        await client.delete(Sandboxes, key, { preconditions: { uid: sandbox.metadata.uid } });
      }
      if (final && sandbox.metadata.finalizers?.includes(SIDECAR_FINALIZER)) {
        await client.patch(Sandboxes, key, {
          metadata: {
            resourceVersion: sandbox.metadata.resourceVersion,
            finalizers: sandbox.metadata.finalizers.filter((f) => f !== SIDECAR_FINALIZER),
          },
        });
      }
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
        reason: 'HostLost',
        message,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'HostLost',
            message,
            lastTransitionTime: kubeTime(),
          },
        ],
      },
      { fieldManager: CONTROLLER_FIELD_MANAGER },
    );
  }
}
