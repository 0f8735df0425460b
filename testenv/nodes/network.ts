// The real-node cluster's addresses, all inside 198.18.0.0/15 (RFC 2544,
// reserved for benchmarking and never routed), and the links that hold them.
//
//   198.18.0.0/15      routed as a whole to the guard bridge, so an address
//                      nobody holds is dropped here instead of following the
//                      default route out of the machine (this was seen to
//                      happen; see ../shared/notes/real-node.md)
//   198.18.0.1         the API server (on the guard bridge; pods reach it
//                      through their node bridge, which routes to the host)
//   198.18.0.10        CoreDNS, the cluster's DNS server
//   198.18.N.0/24      node N's pods; 198.18.N.1 is node N's bridge and address
//   198.18.128.0/20    Service ClusterIPs (198.18.128.1 is `kubernetes`)
//
// No NAT: pods talk to the host and each other by their own addresses, and
// nothing in these ranges is masqueraded to the outside.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { RoostError } from '../../lib/errors.ts';

export const TEST_RANGE = '198.18.0.0/15';
export const GUARD_BRIDGE = 'roost0';
export const API_SERVER_ADDRESS = '198.18.0.1';
export const DNS_ADDRESS = '198.18.0.10';
export const SERVICE_CIDR = '198.18.128.0/20';
export const CLUSTER_DOMAIN = 'cluster.local';
/** More nodes than this would reach the Service range. */
export const MAX_NODES = 100;

export class NetworkError extends RoostError {
  constructor(message: string) {
    super('ROOST_CLUSTER_NETWORK', message);
  }
}

export interface NodeNetwork {
  /** The node's bridge, named by its index: roost-n1. */
  bridge: string;
  /** The node's address (its bridge's), where its kubelet listens. */
  address: string;
  /** Where its pods' addresses come from. */
  podSubnet: string;
  gateway: string;
}

export function nodeNetwork(index: number): NodeNetwork {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES)
    throw new NetworkError(`Cannot address node ${index}: nodes are numbered 1 to ${MAX_NODES}`);
  return {
    bridge: `roost-n${index}`,
    address: `198.18.${index}.1`,
    podSubnet: `198.18.${index}.0/24`,
    gateway: `198.18.${index}.1`,
  };
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function linkExists(name: string): boolean {
  try {
    ip(['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * A bridge that holds `addresses`. The kernel here has no `dummy` link type,
 * and a bridge without ports serves as well: it is up, holds addresses, and
 * drops what is sent to an address behind it that nobody answers for.
 */
function addBridge(name: string, addresses: string[]): void {
  if (!linkExists(name)) ip(['link', 'add', name, 'type', 'bridge']);
  for (const address of addresses) ip(['address', 'replace', address, 'dev', name]);
  ip(['link', 'set', name, 'up']);
}

/** The interface the kernel would send `address` out of. */
export function routeDevice(address: string): string | undefined {
  const out = ip(['route', 'get', address]);
  return / dev (\S+)/.exec(out)?.[1];
}

/**
 * Sets up the guard route and bridge and node N's bridge for N in 1..nodes,
 * then proves that every address the cluster uses stays on this machine.
 */
export function setUpNetwork(nodes: number): NodeNetwork[] {
  addBridge(GUARD_BRIDGE, [`${API_SERVER_ADDRESS}/32`, `${DNS_ADDRESS}/32`]);
  ip(['route', 'replace', TEST_RANGE, 'dev', GUARD_BRIDGE]);
  const networks = Array.from({ length: nodes }, (_, i) => nodeNetwork(i + 1));
  for (const node of networks) addBridge(node.bridge, [`${node.gateway}/24`]);

  const stray = ['198.18.0.77', '198.18.128.1', '198.19.255.254'].filter(
    (address) => routeDevice(address) !== GUARD_BRIDGE,
  );
  const badNodes = networks.filter(
    (n) => routeDevice(n.podSubnet.replace('.0/24', '.77')) !== n.bridge,
  );
  if (stray.length > 0 || badNodes.length > 0)
    throw new NetworkError(
      `Refusing to start: test addresses would leave through another interface (${[
        ...stray,
        ...badNodes.map((n) => n.podSubnet),
      ].join(', ')}); check \`ip route get\` for them`,
    );
  return networks;
}

/** Removes every link setUpNetwork made; their addresses and routes go with them. */
export function tearDownNetwork(): void {
  for (const name of clusterLinks()) {
    try {
      ip(['link', 'delete', name]);
    } catch {
      // Already gone (a CNI teardown removed it, or a second stop).
    }
  }
}

/** The guard and node bridges that exist now: what a clean stop must leave none of. */
export function clusterLinks(): string[] {
  return ip(['-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)[:@]/.exec(line)?.[1])
    .filter((name): name is string => name === GUARD_BRIDGE || /^roost-n\d+$/.test(name ?? ''));
}

/**
 * Kernel settings the node components need or change, read before the
 * cluster starts so stop() can put them back: forwarding for pod traffic
 * between bridges, and the three the kubelet sets for itself.
 */
const SYSCTLS = [
  'net/ipv4/ip_forward',
  'vm/overcommit_memory',
  'kernel/panic',
  'kernel/panic_on_oops',
] as const;

export type SysctlSnapshot = Map<string, string>;

export function snapshotSysctls(): SysctlSnapshot {
  return new Map(SYSCTLS.map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()]));
}

export function writeSysctl(key: string, value: string): void {
  writeFileSync(`/proc/sys/${key}`, value);
}

export function restoreSysctls(snapshot: SysctlSnapshot): void {
  for (const [key, value] of snapshot) {
    try {
      writeSysctl(key, value);
    } catch {
      // Read-only in this environment: then nothing could have changed it either.
    }
  }
}
