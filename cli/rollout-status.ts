// Whether a SandboxDeployment's rollout is done, with the message to show
// while it is not: the same steps `kubectl rollout status` reports for a
// Deployment, in the same order.
import type { SandboxDeployment } from '../kube/api/roost.ts';

export type RolloutState =
  { done: true; message: string } | { done: false; failed: boolean; message: string };

export function rolloutState(deployment: SandboxDeployment): RolloutState {
  const name = deployment.metadata.name;
  const status = deployment.status ?? {};
  const generation = deployment.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation)
    return { done: false, failed: false, message: 'waiting for the controller to see the change' };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return {
      done: false,
      failed: true,
      message: `rollout of ${name} exceeded its progress deadline: ${progressing.message}`,
    };
  if (deployment.spec.paused)
    return { done: true, message: `${name} is paused; nothing rolls out until it is resumed` };
  const desired = deployment.spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired)
    return {
      done: false,
      failed: false,
      message: `${updated} of ${desired} new Sandboxes created`,
    };
  if (replicas > updated)
    return {
      done: false,
      failed: false,
      message: `${replicas - updated} old Sandboxes still terminating`,
    };
  if (available < updated)
    return {
      done: false,
      failed: false,
      message: `${available} of ${updated} new Sandboxes available`,
    };
  return {
    done: true,
    message:
      desired === 0
        ? `${name} is at zero Sandboxes; the first request starts one`
        : `${name} rolled out: ${available} of ${desired} Sandboxes available`,
  };
}
