// The one write that binds a Sandbox to a host pod: spec.podName and the
// sidecar's finalizer, carrying the resourceVersion the decision was made on
// (so a Sandbox changed meanwhile fails with a conflict, and the finalizer
// list can be written whole). The finalizer comes with the binding because
// from this moment the pod's sidecar (or, should the pod be lost, the host
// lifecycle controller) answers for unplugging the Sandbox; and because a
// finalizer the sidecar added itself would be one more API write per plug,
// made while the function loads and competing with it for the CPU (in most
// runs of `npm run bench:java` on two cores, 2 to 6 ms of a ~20 ms plug).
import type { Sandbox } from '../kube/api/roost.ts';
import { SIDECAR_FINALIZER } from '../kube/well-known.ts';

/** A merge patch binding `sandbox`, as last read, to `podName`. */
export function bindPatch(sandbox: Sandbox, podName: string): Partial<Sandbox> {
  const finalizers = sandbox.metadata.finalizers ?? [];
  return {
    metadata: {
      resourceVersion: sandbox.metadata.resourceVersion,
      ...(finalizers.includes(SIDECAR_FINALIZER)
        ? {}
        : { finalizers: [...finalizers, SIDECAR_FINALIZER] }),
    },
    spec: { podName } as Sandbox['spec'],
  };
}
