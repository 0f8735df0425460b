// The Sandbox a SandboxReplicaSet stamps out: its template, owned by it.
import type { Sandbox, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { SandboxReplicaSets } from '../../../kube/api/resources.ts';
import { ownerReference } from '../../shared/owners.ts';
import { sandboxGenerateName } from '../names.ts';

export function makeSandbox(replicaSet: SandboxReplicaSet): Sandbox {
  const template = replicaSet.spec.template;
  return {
    metadata: {
      generateName: sandboxGenerateName(replicaSet),
      namespace: replicaSet.metadata.namespace,
      labels: { ...template.metadata?.labels },
      ...(template.metadata?.annotations
        ? { annotations: { ...template.metadata.annotations } }
        : {}),
      ownerReferences: [ownerReference(replicaSet, SandboxReplicaSets)],
    },
    spec: structuredClone(template.spec),
  };
}
