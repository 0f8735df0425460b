// Which host pods can take a Sandbox. Each filter is a pure function that
// returns nothing when the host passes, or the reason it does not; the first
// failing filter is the one reported, so that "0/N host pods fit" adds up.
// The reasons are aggregated into the message a user reads on an
// Unschedulable Sandbox: it must say what was short, and by how much.
import type { Host, HostUnready, HostUsage, SandboxRequest } from './types.ts';

export type FilterFailure =
  | { kind: 'unready'; why: HostUnready }
  | { kind: 'namespace'; namespace: string }
  | { kind: 'runtime'; runtime: string }
  | { kind: 'isolation'; offered: 'weak' | 'unknown' }
  | { kind: 'count'; max: number }
  | { kind: 'memory'; needMiB: number; freeMiB: number }
  | { kind: 'cpu'; needMillis: number; freeMillis: number };

export type Filter = (
  host: Host,
  usage: HostUsage,
  request: SandboxRequest,
) => FilterFailure | undefined;

/** The pod runs, its sidecar is ready and heartbeating, and it is not going away. */
export const hostReady: Filter = (host) =>
  host.unready ? { kind: 'unready', why: host.unready } : undefined;

/** Tenancy: the isolation boundary between teams sharing a pool. */
export const namespaceAllowed: Filter = (host, _usage, request) =>
  host.allowedNamespaces === '*' || host.allowedNamespaces.includes(request.namespace)
    ? undefined
    : { kind: 'namespace', namespace: request.namespace };

export const runtimeOffered: Filter = (host, _usage, request) =>
  host.runtimes.includes(request.runtime)
    ? undefined
    : { kind: 'runtime', runtime: request.runtime };

/** A Sandbox that asks for strong isolation runs only where the sidecar said it has it. */
export const isolationMet: Filter = (host, _usage, request) =>
  !request.strongIsolation || host.isolation === 'strong'
    ? undefined
    : { kind: 'isolation', offered: host.isolation ?? 'unknown' };

export const belowSandboxCap: Filter = (host, usage) =>
  usage.sandboxes < host.capacity.maxSandboxes
    ? undefined
    : { kind: 'count', max: host.capacity.maxSandboxes };

export const memoryFits: Filter = (host, usage, request) => {
  const free = host.capacity.memoryMiB - usage.memoryMiB;
  return request.memoryMiB <= free
    ? undefined
    : { kind: 'memory', needMiB: request.memoryMiB, freeMiB: Math.max(0, free) };
};

export const cpuFits: Filter = (host, usage, request) => {
  const free = host.capacity.cpuMillis - usage.cpuMillis;
  return request.cpuMillis <= free
    ? undefined
    : { kind: 'cpu', needMillis: request.cpuMillis, freeMillis: Math.max(0, free) };
};

/** In the order they run: the cheap and decisive first. */
export const FILTERS: readonly Filter[] = [
  hostReady,
  namespaceAllowed,
  runtimeOffered,
  isolationMet,
  belowSandboxCap,
  memoryFits,
  cpuFits,
];

export function firstFailure(
  host: Host,
  usage: HostUsage,
  request: SandboxRequest,
  filters: readonly Filter[] = FILTERS,
): FilterFailure | undefined {
  for (const filter of filters) {
    const failure = filter(host, usage, request);
    if (failure) return failure;
  }
  return undefined;
}

export interface FilterResult {
  feasible: Host[];
  failures: FilterFailure[];
}

export function filterHosts(
  hosts: readonly Host[],
  usageOf: (host: Host) => HostUsage,
  request: SandboxRequest,
): FilterResult {
  const feasible: Host[] = [];
  const failures: FilterFailure[] = [];
  for (const host of hosts) {
    const failure = firstFailure(host, usageOf(host), request);
    if (failure) failures.push(failure);
    else feasible.push(host);
  }
  return { feasible, failures };
}

/**
 * "0/3 host pods fit: 2 insufficient memory (need 256 MiB, most free 128 MiB),
 * 1 does not offer runtime java". Groups are listed largest first.
 */
export function unschedulableMessage(total: number, failures: FilterFailure[]): string {
  if (total === 0) return '0/0 host pods fit: no host pods (label roost.dev/host=true) exist';
  const groups = new Map<string, FilterFailure[]>();
  for (const failure of failures) {
    const group = failure.kind === 'unready' ? `unready:${failure.why}` : failure.kind;
    groups.set(group, [...(groups.get(group) ?? []), failure]);
  }
  // Largest group first; equal groups in the order the filters run.
  const order: FilterFailure['kind'][] = [
    'unready',
    'namespace',
    'runtime',
    'isolation',
    'count',
    'memory',
    'cpu',
  ];
  const parts = [...groups.values()]
    .sort((a, b) => b.length - a.length || order.indexOf(a[0]!.kind) - order.indexOf(b[0]!.kind))
    .map((group) => `${group.length} ${describeGroup(group)}`);
  return `0/${total} host pods fit: ${parts.join(', ')}`;
}

function describeGroup(group: FilterFailure[]): string {
  const first = group[0]!;
  const one = group.length === 1;
  switch (first.kind) {
    case 'unready':
      return first.why === 'name not unique'
        ? `${one ? 'shares' : 'share'} a name with a host pod in another namespace`
        : `not ready (${first.why})`;
    case 'namespace':
      return `${one ? 'does' : 'do'} not take Sandboxes from namespace ${first.namespace}`;
    case 'runtime':
      return `${one ? 'does' : 'do'} not offer runtime ${first.runtime}`;
    case 'isolation':
      return `${one ? 'offers' : 'offer'} no strong isolation (roost.dev/isolation is not strong: functions share the sidecar's user or lack limits) and the Sandbox asks for isolation: Strong`;
    case 'count': {
      const max = Math.max(...group.map((f) => (f.kind === 'count' ? f.max : 0)));
      return `at ${one ? 'its' : 'their'} cap of ${max} Sandboxes`;
    }
    case 'memory': {
      const most = Math.max(...group.map((f) => (f.kind === 'memory' ? f.freeMiB : 0)));
      return `insufficient memory (need ${first.needMiB} MiB, most free ${most} MiB)`;
    }
    case 'cpu': {
      const most = Math.max(...group.map((f) => (f.kind === 'cpu' ? f.freeMillis : 0)));
      return `insufficient cpu (need ${first.needMillis}m, most free ${most}m)`;
    }
  }
}
