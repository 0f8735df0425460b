// Deterministic names of what a SandboxDeployment owns: one SandboxReplicaSet
// per template revision, named by the template's hash so that the same
// template always maps to the same ReplicaSet (which is what makes a
// rollback reuse it), and one SandboxEndpoints of the deployment's own name.
import type { SandboxDeployment } from '../../kube/api/roost.ts';

export function replicaSetName(deployment: SandboxDeployment, templateHash: string): string {
  return `${deployment.metadata.name}-${templateHash}`;
}

export function endpointsName(deployment: SandboxDeployment): string {
  return deployment.metadata.name!;
}
