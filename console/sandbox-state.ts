// One word for a Sandbox's state, as the packing view colours it, and the
// reason to show beside it (the scheduler's for a pending one, the sidecar's
// for a failed one).
import type { Sandbox } from '../kube/api/roost.ts';
import type { SandboxState } from './view-types.ts';

export function sandboxState(sandbox: Sandbox): { state: SandboxState; reason?: string } {
  const status = sandbox.status ?? {};
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  if (sandbox.metadata.deletionTimestamp || status.phase === 'Terminating')
    return { state: 'terminating' };
  if (status.phase === 'Failed')
    return {
      state: 'failed',
      reason: status.message ?? status.reason ?? status.lastTermination?.message,
    };
  if (!sandbox.spec.podName) {
    const scheduled = condition('Scheduled');
    return {
      state: 'pending',
      reason: scheduled?.message ?? scheduled?.reason ?? 'waiting for the scheduler',
    };
  }
  if (status.phase === 'Running' && condition('Ready')?.status === 'True')
    return { state: status.hibernated ? 'hibernated' : 'running' };
  const crashed = status.lastTermination?.reason;
  return { state: 'starting', ...(crashed ? { reason: `last exit: ${crashed}` } : {}) };
}
