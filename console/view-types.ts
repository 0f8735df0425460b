// What the console's backend sends to browsers: the contract between
// console/*.ts and console/ui/src/*. Plain JSON, no class instances.

export type SandboxState =
  'running' | 'hibernated' | 'starting' | 'failed' | 'terminating' | 'pending';

export interface SandboxView {
  namespace: string;
  name: string;
  /** The SandboxDeployment it belongs to, if any. */
  deployment?: string;
  runtime: string;
  memoryMiB: number;
  cpuMillis: number;
  state: SandboxState;
  /** Why it is pending or failed: the scheduler's or the sidecar's words. */
  reason?: string;
  podName?: string;
  /** From the sidecar's Stats, when it answered. */
  rssBytes?: number;
  inFlight?: number;
}

export interface HostView {
  namespace: string;
  name: string;
  pool?: string;
  ready: boolean;
  reason?: string;
  runtimes: string[];
  address?: string;
  capacity: { memoryMiB: number; cpuMillis: number | null; maxSandboxes: number | null };
  used: { memoryMiB: number; cpuMillis: number };
  free: { memoryMiB: number; cpuMillis: number | null };
  sandboxes: SandboxView[];
  /** Sandboxes of namespaces this viewer may not see: counted, not named. */
  hidden: { count: number; memoryMiB: number };
  /** The Java functions loaded into the pod's JVM bridge (deployment names). */
  javaFunctions: string[];
  /** The JVM bridge's heap as its sidecar last reported it; absent without a bridge. */
  javaBridge?: { heapUsedMiB: number; heapMaxMiB: number | null; loadedSandboxes: number };
  /** Unix ms of the host's Lease renewal; null without a Lease. */
  leaseRenewedAt: number | null;
  isolation?: string;
  /** When the sidecar last answered Stats; null if it never did. */
  statsAt: number | null;
}

export interface FunctionFigures {
  rps: number;
  errorRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  coldStartsHour: number;
  inFlight: number;
  /** Event invocations waiting in the durable queue (including those running). */
  queuedEvents: number;
  /** Unix ms of the scrape that first saw its latest request; null: none seen since the console started. */
  lastInvocationAt: number | null;
}

export interface FunctionView {
  namespace: string;
  name: string;
  runtime: string;
  handler: string;
  desired: number;
  ready: number;
  available: number;
  minScale?: number;
  maxScale?: number;
  revision?: string;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
  figures: FunctionFigures;
}

export interface RevisionView {
  name: string;
  revision: string;
  replicas: number;
  ready: number;
  createdAt?: string;
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastSeen?: string;
}

/** A SandboxRoute or a trigger, when their CRDs are installed; shown as their spec says. */
export interface ExtraObjectView {
  kind: string;
  namespace: string;
  name: string;
  /** The function it belongs to, when it names one. */
  function?: string;
  /** One line a person reads: "alias @beta · traffic 3=90,4=10", "@hourly · to report". */
  summary: string;
  /** Its Ready (or Scheduled) condition; undefined: none reported yet. */
  ready?: boolean;
  /** Why not ready: "reason: message". */
  reason?: string;
  /** A route's split as the gateways apply it. */
  split?: { revision: number; percent: number; tag?: string; readySandboxes?: number }[];
  /** A route's targets as its spec names them (latestRevision kept), for changing the split. */
  targets?: { revision?: number; latestRevision?: boolean; percent: number; tag?: string }[];
}

export interface ComponentsView {
  controller: { leader?: string; leaseRenewedAt: number | null };
  gateways: {
    name: string;
    url: string;
    leaseRenewedAt: number | null;
    scrapedAt: number | null;
    error?: string;
  }[];
  sidecars: {
    pod: string;
    namespace: string;
    leaseRenewedAt: number | null;
    version?: string;
    isolation?: string;
  }[];
  /** Installed optional kinds: "SandboxRoute", "CronTrigger", ... */
  optionalKinds: string[];
}

export interface Snapshot {
  at: number;
  namespaces: string[];
  pools: string[];
  hosts: HostView[];
  /** Sandboxes no host pod took, with the scheduler's reason. */
  unplaced: SandboxView[];
  functions: FunctionView[];
  extras: ExtraObjectView[];
  components: ComponentsView;
  /** What this viewer may do: for the UI to hide buttons; the backend checks again. */
  viewer: { name: string };
}

export interface FunctionDetail {
  revisions: RevisionView[];
  events: EventView[];
  series: Record<string, (number | null)[]>;
}

/** One point per function per scrape, pushed to open pages. */
export interface FiguresTick {
  t: number;
  functions: Record<string, FunctionFigures>;
}

export interface LogLine {
  timeMs: number;
  level: string;
  namespace: string;
  sandbox: string;
  deployment: string;
  requestId: string;
  stream: string;
  message: string;
}

export interface InvokeResult {
  status: number;
  requestId: string;
  durationMs: number;
  headers: Record<string, string>;
  body: string;
  logs: LogLine[];
}
