// A host pod as `roost get hosts` and the console show it: ready or why not (the scheduler's
// own reading of the pod and its Lease), the runtimes it offers, the
// Sandboxes bound to it, and what is left of its capacity once they are
// counted, exactly as the scheduler counts them.
import type { Lease, Pod } from '../kube/api/core.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { DEFAULT_HOST_STALE_AFTER_MS, hostFromPod, sidecarAddress } from './host.ts';
import { occupiesHost, requestOf } from './request.ts';

export interface HostSummary {
  namespace: string;
  name: string;
  ready: boolean;
  /** Why it takes no Sandboxes, when not ready. */
  reason?: string;
  runtimes: string[];
  address?: string;
  nodeName?: string;
  creationTimestamp?: string;
  /** null: no limit published. */
  capacity: { memoryMiB: number; cpuMillis: number | null; maxSandboxes: number | null };
  used: { memoryMiB: number; cpuMillis: number };
  free: { memoryMiB: number; cpuMillis: number | null };
  /** namespace/name of each Sandbox bound to it. */
  sandboxes: string[];
}

export function summarizeHosts(
  pods: Pod[],
  leaseOf: (pod: Pod) => Lease | undefined,
  sandboxes: Sandbox[],
  now = Date.now(),
): HostSummary[] {
  return pods
    .map((pod) => {
      const host = hostFromPod(pod, leaseOf(pod), {
        now,
        staleAfterMs: DEFAULT_HOST_STALE_AFTER_MS,
      });
      const bound = sandboxes.filter((s) => occupiesHost(s) && s.spec.podName === host.name);
      const used = bound.reduce(
        (sum, s) => {
          const request = requestOf(s);
          return {
            memoryMiB: sum.memoryMiB + request.memoryMiB,
            cpuMillis: sum.cpuMillis + request.cpuMillis,
          };
        },
        { memoryMiB: 0, cpuMillis: 0 },
      );
      const finite = (n: number) => (Number.isFinite(n) ? n : null);
      const cpu = finite(host.capacity.cpuMillis);
      return {
        namespace: host.namespace,
        name: host.name,
        ready: host.unready === undefined,
        ...(host.unready ? { reason: host.unready } : {}),
        runtimes: host.runtimes,
        address: sidecarAddress(pod),
        nodeName: host.nodeName,
        creationTimestamp: pod.metadata.creationTimestamp,
        capacity: {
          memoryMiB: host.capacity.memoryMiB,
          cpuMillis: cpu,
          maxSandboxes: finite(host.capacity.maxSandboxes),
        },
        used,
        free: {
          memoryMiB: Math.max(0, host.capacity.memoryMiB - used.memoryMiB),
          cpuMillis: cpu === null ? null : Math.max(0, cpu - used.cpuMillis),
        },
        sandboxes: bound.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort(),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
