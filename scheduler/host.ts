// A host pod as the scheduler sees it, read from the Pod (annotations the
// sidecar publishes, the readiness condition it sets, the tenancy annotation
// the pool owner sets) and from the pod's heartbeat Lease.
import type { Lease, Pod } from '../kube/api/core.ts';
import {
  ALLOWED_NAMESPACES_ANNOTATION,
  HOST_READY_CONDITION,
  HostAnnotations,
} from '../kube/well-known.ts';
import type { Host, HostUnready } from './types.ts';

/** How long without a renewal before a host pod counts as lost (the grace period). */
export const DEFAULT_HOST_STALE_AFTER_MS = 20_000;

export interface HostViewOptions {
  now: number;
  /** A Lease not renewed for this long (or past its own duration) is stale. */
  staleAfterMs: number;
}

/** Milliseconds since the Lease was last renewed; Infinity if it never was. */
export function leaseAgeMs(lease: Lease | undefined, now: number): number {
  const renewed = lease?.spec.renewTime ?? lease?.spec.acquireTime;
  if (!renewed) return Infinity;
  return now - Date.parse(renewed);
}

/** Whether the Lease counts as fresh: renewed within its duration and within staleAfterMs. */
export function leaseFresh(lease: Lease | undefined, options: HostViewOptions): boolean {
  if (!lease) return false;
  const durationMs = (lease.spec.leaseDurationSeconds ?? Infinity) * 1000;
  return leaseAgeMs(lease, options.now) <= Math.min(durationMs, options.staleAfterMs);
}

function unreadyReason(
  pod: Pod,
  lease: Lease | undefined,
  options: HostViewOptions,
): HostUnready | undefined {
  if (pod.metadata.deletionTimestamp) return 'being deleted';
  if (pod.status?.phase !== 'Running') return 'not running';
  const ready = pod.status.conditions?.find((c) => c.type === HOST_READY_CONDITION);
  if (ready?.status !== 'True') return 'sidecar not ready';
  if (!lease) return 'no Lease';
  if (!leaseFresh(lease, options)) return 'Lease stale';
  if (!pod.metadata.annotations?.[HostAnnotations.capacityMemoryMiB])
    return 'no capacity published';
  return undefined;
}

function parseCount(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** "*" or the list of namespaces; without the annotation, the pod's own namespace only. */
export function allowedNamespaces(pod: Pod): '*' | string[] {
  const value = pod.metadata.annotations?.[ALLOWED_NAMESPACES_ANNOTATION]?.trim();
  if (!value) return [pod.metadata.namespace ?? 'default'];
  if (value === '*') return '*';
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function isolationOf(value: string | undefined): Host['isolation'] {
  return value === 'strong' || value === 'weak' ? value : undefined;
}

export function hostFromPod(pod: Pod, lease: Lease | undefined, options: HostViewOptions): Host {
  const annotations = pod.metadata.annotations ?? {};
  return {
    name: pod.metadata.name!,
    namespace: pod.metadata.namespace!,
    nodeName: pod.spec.nodeName || undefined,
    runtimes: (annotations[HostAnnotations.runtimes] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    capacity: {
      memoryMiB: parseCount(annotations[HostAnnotations.capacityMemoryMiB], 0),
      cpuMillis: parseCount(annotations[HostAnnotations.capacityCpuMillis], Infinity),
      maxSandboxes: parseCount(annotations[HostAnnotations.maxSandboxes], Infinity),
    },
    allowedNamespaces: allowedNamespaces(pod),
    isolation: isolationOf(annotations[HostAnnotations.isolation]),
    unready: unreadyReason(pod, lease, options),
  };
}

/**
 * Every host pod, keyed by name (Sandboxes name their pod by name alone, as
 * Pods name their Node). Two host pods of one name in different namespaces
 * cannot be told apart by a Sandbox, so neither takes new ones.
 */
export function hostsFromPods(
  pods: Pod[],
  leaseOf: (pod: Pod) => Lease | undefined,
  options: HostViewOptions,
): Host[] {
  const byName = new Map<string, Host[]>();
  for (const pod of pods) {
    const host = hostFromPod(pod, leaseOf(pod), options);
    byName.set(host.name, [...(byName.get(host.name) ?? []), host]);
  }
  const hosts: Host[] = [];
  for (const group of byName.values()) {
    if (group.length > 1) for (const host of group) host.unready = 'name not unique';
    hosts.push(...group);
  }
  return hosts.sort((a, b) => a.name.localeCompare(b.name));
}

/** host:port of the pod's sidecar (its gRPC server), once the pod has an address and has published the port. */
export function sidecarAddress(pod: Pod): string | undefined {
  const port = pod.metadata.annotations?.[HostAnnotations.sidecarPort];
  const ip = pod.status?.podIP;
  return ip && port ? `${ip}:${port}` : undefined;
}
