// What the scheduler decides with: a host pod as the scheduler sees it, what
// is already placed on it, and what a Sandbox asks for. Built from the API
// objects in host.ts and request.ts; filters and scores are pure functions of
// these.

export interface HostCapacity {
  memoryMiB: number;
  cpuMillis: number;
  /** Infinity when the sidecar sets no cap. */
  maxSandboxes: number;
}

/** Why a host pod is not taking Sandboxes at all, whatever they ask for. */
export type HostUnready =
  | 'not running'
  | 'sidecar not ready'
  | 'being deleted'
  | 'no Lease'
  | 'Lease stale'
  | 'no capacity published'
  | 'name not unique';

export interface Host {
  name: string;
  namespace: string;
  /** The Kubernetes node it runs on, for spreading; undefined when unknown. */
  nodeName?: string;
  runtimes: string[];
  capacity: HostCapacity;
  /** "*" for every namespace, otherwise the namespaces it takes Sandboxes from. */
  allowedNamespaces: '*' | string[];
  /** What its sidecar found at start (roost.dev/isolation); undefined before it said. */
  isolation?: 'strong' | 'weak';
  /** Undefined when the host takes Sandboxes. */
  unready?: HostUnready;
}

export interface HostUsage {
  memoryMiB: number;
  cpuMillis: number;
  sandboxes: number;
  /** Sandboxes per SandboxDeployment ("namespace/name"). */
  deployments: Map<string, number>;
}

export interface SandboxRequest {
  /** "namespace/name". */
  key: string;
  namespace: string;
  runtime: string;
  memoryMiB: number;
  cpuMillis: number;
  /** "namespace/name" of its SandboxDeployment, if it has one. */
  deployment?: string;
  /** Only hosts whose function processes have users and limits of their own. */
  strongIsolation?: boolean;
}

export const emptyUsage = (): HostUsage => ({
  memoryMiB: 0,
  cpuMillis: 0,
  sandboxes: 0,
  deployments: new Map(),
});
