// What each host pod already holds: the Sandboxes the informer shows bound to
// it (not being deleted), plus the ones this scheduler has "assumed" there,
// decided but not yet seen back from the API server. Without the assumed
// part, a burst of decisions made before the informer catches up would all
// see the same free space and over-commit a pod (kube-scheduler's
// assume/bind split).
import type { Sandbox } from '../kube/api/roost.ts';
import { cacheKey } from '../kube/client.ts';
import { occupiesHost, requestOf } from './request.ts';
import { emptyUsage, type HostUsage, type SandboxRequest } from './types.ts';

interface Placement {
  pod: string;
  memoryMiB: number;
  cpuMillis: number;
  deployment?: string;
  /** Decided here, not yet confirmed by the informer. */
  assumed: boolean;
}

export class SchedulerCache {
  readonly #placements = new Map<string, Placement>();
  readonly #usage = new Map<string, HostUsage>();

  /** From the informer: a Sandbox was added or changed. Returns true if it freed room. */
  update(sandbox: Sandbox): boolean {
    const key = cacheKey(sandbox);
    const current = this.#placements.get(key);
    if (occupiesHost(sandbox)) {
      const request = requestOf(sandbox);
      this.#set(key, { ...placementOf(request, sandbox.spec.podName!), assumed: false });
      return false;
    }
    // Unbound in the informer but assumed here: the informer has not caught
    // up with our bind yet. Keep the assumption.
    if (current?.assumed && !sandbox.metadata.deletionTimestamp) return false;
    return this.#remove(key);
  }

  /** From the informer: a Sandbox is gone. Returns true if it freed room. */
  delete(sandbox: Sandbox): boolean {
    return this.#remove(cacheKey(sandbox));
  }

  assume(request: SandboxRequest, pod: string): void {
    this.#set(request.key, { ...placementOf(request, pod), assumed: true });
  }

  /** The bind failed: give the room back unless the informer has confirmed it since. */
  forget(key: string): void {
    if (this.#placements.get(key)?.assumed) this.#remove(key);
  }

  isAssumed(key: string): boolean {
    return this.#placements.get(key)?.assumed ?? false;
  }

  usage(pod: string): HostUsage {
    return this.#usage.get(pod) ?? emptyUsage();
  }

  #set(key: string, placement: Placement): void {
    this.#remove(key);
    this.#placements.set(key, placement);
    let usage = this.#usage.get(placement.pod);
    if (!usage) this.#usage.set(placement.pod, (usage = emptyUsage()));
    usage.memoryMiB += placement.memoryMiB;
    usage.cpuMillis += placement.cpuMillis;
    usage.sandboxes += 1;
    if (placement.deployment)
      usage.deployments.set(
        placement.deployment,
        (usage.deployments.get(placement.deployment) ?? 0) + 1,
      );
  }

  #remove(key: string): boolean {
    const placement = this.#placements.get(key);
    if (!placement) return false;
    this.#placements.delete(key);
    const usage = this.#usage.get(placement.pod)!;
    usage.memoryMiB -= placement.memoryMiB;
    usage.cpuMillis -= placement.cpuMillis;
    usage.sandboxes -= 1;
    if (placement.deployment) {
      const left = (usage.deployments.get(placement.deployment) ?? 1) - 1;
      if (left > 0) usage.deployments.set(placement.deployment, left);
      else usage.deployments.delete(placement.deployment);
    }
    if (usage.sandboxes === 0) this.#usage.delete(placement.pod);
    return true;
  }
}

function placementOf(request: SandboxRequest, pod: string): Omit<Placement, 'assumed'> {
  return {
    pod,
    memoryMiB: request.memoryMiB,
    cpuMillis: request.cpuMillis,
    deployment: request.deployment,
  };
}
