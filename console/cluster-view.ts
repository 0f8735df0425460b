// The cluster as the console shows it, read through informers only: host
// pods, Sandboxes, SandboxDeployments and their ReplicaSets, their Events,
// the Leases of host pods, gateways and the controller, and (when their CRDs
// are installed) routes and triggers. A page view never lists anything from
// the API server; it reads the snapshot built here after each change.
import type { Event, Lease, Pod } from '../kube/api/core.ts';
import type { KubeObject } from '../kube/api/meta.ts';
import {
  Events,
  Leases,
  Pods,
  ROOST_GROUP,
  ROOST_VERSION,
  SandboxDeployments,
  SandboxReplicaSets,
  Sandboxes,
  type ResourceType,
} from '../kube/api/resources.ts';
import type { Sandbox, SandboxDeployment, SandboxReplicaSet } from '../kube/api/roost.ts';
import { cacheKey, type KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { SharedInformers } from '../kube/shared-informers.ts';
import {
  CONTROLLER_LEASE_NAME,
  DEPLOYMENT_LABEL,
  GATEWAY_LABEL,
  GATEWAY_URL_ANNOTATION,
  HOST_LABEL,
  HostAnnotations,
  REVISION_ANNOTATION,
} from '../kube/well-known.ts';
import { summarizeHosts } from '../scheduler/host-summary.ts';
import { sidecarAddress } from '../scheduler/host.ts';
import { DEFAULT_HOST_STALE_AFTER_MS, leaseAgeMs, leaseFresh } from '../scheduler/host.ts';
import { requestOf } from '../scheduler/request.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { emptyFigures, type Figures, type GatewayTarget, type SidecarTarget } from './figures.ts';
import { extraObjectView } from './extra-objects.ts';
import { sandboxState } from './sandbox-state.ts';
import type {
  ExtraObjectView,
  FunctionDetail,
  FunctionView,
  HostView,
  Snapshot,
  SandboxView,
} from './view-types.ts';

/** Kinds from other issues, shown when installed: plural → kind. */
const OPTIONAL_KINDS: Record<string, string> = {
  sandboxroutes: 'SandboxRoute',
  crontriggers: 'CronTrigger',
  queuetriggers: 'QueueTrigger',
};
const DISCOVERY_INTERVAL_MS = 60_000;
const EVENTS_PER_FUNCTION = 20;
const LEASE_CHECK_INTERVAL_MS = 2000;

export interface ClusterViewOptions {
  client: KubeClient;
  /** Watch only this namespace (a team's console, or a test); default every namespace. */
  namespace?: string;
  /** Where the controller's leader Lease and the gateways' Leases are. */
  systemNamespace: string;
  log: Logger;
  /** Coalesce bursts of changes: at most one snapshot per this many ms. */
  debounceMs?: number;
}

export class ClusterView {
  readonly #options: ClusterViewOptions;
  readonly #informers: SharedInformers;
  readonly pods: Informer<Pod>;
  readonly sandboxes: Informer<Sandbox>;
  readonly deployments: Informer<SandboxDeployment>;
  readonly replicaSets: Informer<SandboxReplicaSet>;
  readonly events: Informer<Event>;
  readonly #leases = new Map<string, Informer<Lease>>();
  readonly #extras = new Map<string, Informer<KubeObject>>();
  readonly #listeners = new Set<() => void>();
  figures: Figures | undefined;
  #snapshot: Snapshot | undefined;
  #timer: NodeJS.Timeout | undefined;
  #discovery: NodeJS.Timeout | undefined;
  #stopped = false;
  #leaseDigest = '';
  #leaseTimer: NodeJS.Timeout | undefined;

  constructor(options: ClusterViewOptions) {
    this.#options = options;
    this.#informers = new SharedInformers(options.client, options.log, {
      namespace: options.namespace,
    });
    this.pods = this.#informers.for(Pods, { labelSelector: `${HOST_LABEL}=true` });
    this.sandboxes = this.#informers.for(Sandboxes);
    this.deployments = this.#informers.for(SandboxDeployments);
    this.replicaSets = this.#informers.for(SandboxReplicaSets);
    // Only the Events of functions: a cluster's other Events are many and none of ours.
    this.events = new Informer(options.client, Events, {
      namespace: options.namespace,
      fieldSelector: 'involvedObject.kind=SandboxDeployment',
      log: options.log,
    });
    this.sandboxes.store.addIndex('pod', (s) => (s.spec.podName ? [s.spec.podName] : []));
    this.sandboxes.store.addIndex('deployment', (s) => {
      const deployment = s.metadata.labels?.[DEPLOYMENT_LABEL];
      return deployment ? [`${s.metadata.namespace}/${deployment}`] : [];
    });
    this.events.store.addIndex('object', (e) => [
      `${e.involvedObject.namespace}/${e.involvedObject.name}`,
    ]);
    const changed = {
      onAdd: () => this.changed(),
      onUpdate: () => this.changed(),
      onDelete: () => this.changed(),
    };
    for (const informer of [
      this.pods,
      this.sandboxes,
      this.deployments,
      this.replicaSets,
      this.events,
    ])
      (informer as unknown as Informer<KubeObject>).addHandlers(changed);
    // A host pod in a namespace not seen before: watch that namespace's Leases too.
    this.pods.addHandlers({ onAdd: (pod) => this.#watchLeases(pod.metadata.namespace!) });
  }

  async start(): Promise<void> {
    this.#watchLeases(this.#options.namespace ?? this.#options.systemNamespace);
    await Promise.all([this.#informers.start(), this.events.start()]);
    // Host pods listed by now have named their namespaces; start() is idempotent.
    await Promise.all([...this.#leases.values()].map((i) => i.start()));
    await this.#discoverOptionalKinds();
    this.#discovery = setInterval(() => void this.#discoverOptionalKinds(), DISCOVERY_INTERVAL_MS);
    this.#discovery.unref();
    // A Lease turns stale by time passing, with no event to say so.
    this.#leaseTimer = setInterval(() => this.#checkLeases(), LEASE_CHECK_INTERVAL_MS);
    this.#leaseTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#discovery);
    clearInterval(this.#leaseTimer);
    await Promise.all([
      this.#informers.stop(),
      this.events.stop(),
      ...[...this.#leases.values(), ...this.#extras.values()].map((i) => i.stop()),
    ]);
  }

  /** Called after the snapshot changed (debounced). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Something changed: rebuild the snapshot soon, once for a burst. */
  changed(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#snapshot = undefined;
      for (const listener of this.#listeners) listener();
    }, this.#options.debounceMs ?? 250);
  }

  /** The whole picture, every namespace; built once per change. */
  snapshot(now = Date.now()): Snapshot {
    this.#snapshot ??= this.#build(now);
    return this.#snapshot;
  }

  /** What the gateways are, from their registration Leases. */
  gatewayTargets(): GatewayTarget[] {
    return this.#allLeases()
      .filter(
        (l) =>
          l.metadata.labels?.[GATEWAY_LABEL] === 'true' &&
          l.metadata.annotations?.[GATEWAY_URL_ANNOTATION],
      )
      .filter((l) => leaseAgeMs(l, Date.now()) < (l.spec.leaseDurationSeconds ?? 30) * 1000)
      .map((l) => ({
        name: `${l.metadata.namespace}/${l.metadata.name}`,
        url: l.metadata.annotations![GATEWAY_URL_ANNOTATION]!,
      }));
  }

  sidecarTargets(): SidecarTarget[] {
    return this.pods.store.list().flatMap((pod) => {
      const address = sidecarAddress(pod);
      return address
        ? [
            {
              pod: pod.metadata.name!,
              namespace: pod.metadata.namespace!,
              address,
            },
          ]
        : [];
    });
  }

  /** Desired and ready replicas of every function, for the figures' scaling timeline. */
  replicas(): Map<string, { desired: number; ready: number }> {
    return new Map(
      this.deployments.store
        .list()
        .map((d) => [
          `${d.metadata.namespace}/${d.metadata.name}`,
          { desired: d.spec.replicas ?? 1, ready: d.status?.readyReplicas ?? 0 },
        ]),
    );
  }

  deployment(namespace: string, name: string): SandboxDeployment | undefined {
    return this.deployments.store.get(`${namespace}/${name}`);
  }

  /** Revisions, recent Events and the series of one function. */
  detail(namespace: string, name: string): FunctionDetail {
    const key = `${namespace}/${name}`;
    const revisions = this.replicaSets.store
      .list()
      .filter(
        (rs) =>
          rs.metadata.namespace === namespace && rs.metadata.labels?.[DEPLOYMENT_LABEL] === name,
      )
      .map((rs) => ({
        name: rs.metadata.name!,
        revision: rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '?',
        replicas: rs.spec.replicas ?? 0,
        ready: rs.status?.readyReplicas ?? 0,
        createdAt: rs.metadata.creationTimestamp,
      }))
      .sort((a, b) => Number(b.revision) - Number(a.revision));
    const events = this.events.store
      .byIndex('object', key)
      .sort((a, b) => timeOf(b).localeCompare(timeOf(a)))
      .slice(0, EVENTS_PER_FUNCTION)
      .map((e) => ({
        type: e.type,
        reason: e.reason,
        message: e.message,
        count: e.count ?? 1,
        lastSeen: timeOf(e),
      }));
    return { revisions, events, series: this.figures?.seriesOf(key) ?? { t: [] } };
  }

  #build(now: number): Snapshot {
    const pods = this.pods.store.list();
    const sandboxes = this.sandboxes.store.list();
    const leaseOf = (pod: Pod) =>
      this.#leases
        .get(pod.metadata.namespace!)
        ?.store.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
    const summaries = summarizeHosts(pods, leaseOf, sandboxes, now);
    const hosts: HostView[] = summaries.map((summary) => {
      const pod = pods.find(
        (p) => p.metadata.namespace === summary.namespace && p.metadata.name === summary.name,
      )!;
      const stats = this.figures?.statsOf(summary.name);
      const bound = this.sandboxes.store
        .byIndex('pod', summary.name)
        .map((s) => this.#sandboxView(s, stats?.sandboxes));
      const lease = leaseOf(pod);
      return {
        namespace: summary.namespace,
        name: summary.name,
        pool: pod.metadata.labels?.['roost.dev/pool'],
        ready: summary.ready,
        reason: summary.reason,
        runtimes: summary.runtimes,
        address: summary.address,
        capacity: summary.capacity,
        used: summary.used,
        free: summary.free,
        sandboxes: bound.sort((a, b) => b.memoryMiB - a.memoryMiB || a.name.localeCompare(b.name)),
        hidden: { count: 0, memoryMiB: 0 },
        javaFunctions: [
          ...new Set(
            bound
              .filter((s) => s.runtime === 'java' && s.state !== 'failed')
              .map((s) => `${s.namespace}/${s.deployment ?? s.name}`),
          ),
        ],
        ...(stats?.javaBridge
          ? {
              javaBridge: {
                heapUsedMiB: Math.round(stats.javaBridge.heapUsedBytes / 1048576),
                heapMaxMiB: stats.javaBridge.heapMaxBytes
                  ? Math.round(stats.javaBridge.heapMaxBytes / 1048576)
                  : null,
                loadedSandboxes: stats.javaBridge.loadedSandboxes,
              },
            }
          : {}),
        leaseRenewedAt: renewedAt(lease),
        isolation: pod.metadata.annotations?.[HostAnnotations.isolation],
        statsAt: stats?.at ?? null,
      };
    });
    const unplaced = sandboxes
      .filter((s) => !s.spec.podName && !s.metadata.deletionTimestamp)
      .map((s) => this.#sandboxView(s, undefined));
    const functions: FunctionView[] = this.deployments.store.list().map((d) => {
      const fn = d.spec.template.spec.function;
      const autoscaling = (
        d.spec as { autoscaling?: { minReplicas?: number; maxReplicas?: number } }
      ).autoscaling;
      return {
        namespace: d.metadata.namespace!,
        name: d.metadata.name!,
        runtime: fn.runtime,
        handler: fn.handler,
        desired: d.spec.replicas ?? 1,
        ready: d.status?.readyReplicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
        minScale: autoscaling?.minReplicas,
        maxScale: autoscaling?.maxReplicas,
        revision: d.metadata.annotations?.[REVISION_ANNOTATION],
        conditions: (d.status?.conditions ?? []).map((c) => ({
          type: c.type,
          status: c.status,
          reason: c.reason,
          message: c.message,
        })),
        figures:
          this.figures?.figuresOf(`${d.metadata.namespace}/${d.metadata.name}`) ?? emptyFigures(),
      };
    });
    functions.sort(
      (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
    );
    const namespaces = [
      ...new Set(
        [...sandboxes, ...this.deployments.store.list()].map((o) => o.metadata.namespace!),
      ),
    ].sort();
    const controllerLease = this.#controllerLease();
    return {
      at: now,
      namespaces,
      pools: [...new Set(hosts.map((h) => h.pool).filter((p): p is string => !!p))].sort(),
      hosts,
      unplaced,
      functions,
      extras: this.#extraViews(),
      components: {
        controller: {
          leader: controllerLease?.spec.holderIdentity,
          leaseRenewedAt: renewedAt(controllerLease),
        },
        gateways: this.gatewayTargets().map((g) => {
          const lease = this.#allLeases().find(
            (l) => `${l.metadata.namespace}/${l.metadata.name}` === g.name,
          );
          const scrape = this.figures?.gatewayScrape(g.name);
          return {
            name: g.name,
            url: g.url,
            leaseRenewedAt: renewedAt(lease),
            scrapedAt: scrape?.at ?? null,
            ...(scrape?.error ? { error: scrape.error } : {}),
          };
        }),
        sidecars: hosts.map((h) => {
          const pod = pods.find(
            (p) => p.metadata.name === h.name && p.metadata.namespace === h.namespace,
          );
          return {
            pod: h.name,
            namespace: h.namespace,
            leaseRenewedAt: h.leaseRenewedAt,
            version: pod?.spec?.containers?.[0]?.image,
            isolation: h.isolation,
          };
        }),
        optionalKinds: [...this.#extras.keys()].map((plural) => OPTIONAL_KINDS[plural]!),
      },
      viewer: { name: '' },
    };
  }

  #sandboxView(
    sandbox: Sandbox,
    stats: Map<string, { rssBytes: number; inFlight: number; hibernated: boolean }> | undefined,
  ): SandboxView {
    const request = requestOf(sandbox);
    const { state, reason } = sandboxState(sandbox);
    const live = stats?.get(`${sandbox.metadata.namespace}/${sandbox.metadata.name}`);
    return {
      namespace: sandbox.metadata.namespace!,
      name: sandbox.metadata.name!,
      deployment: sandbox.metadata.labels?.[DEPLOYMENT_LABEL],
      runtime: sandbox.spec.function.runtime,
      memoryMiB: request.memoryMiB,
      cpuMillis: request.cpuMillis,
      state: live?.hibernated && state === 'running' ? 'hibernated' : state,
      ...(reason ? { reason } : {}),
      ...(sandbox.spec.podName ? { podName: sandbox.spec.podName } : {}),
      ...(live ? { rssBytes: Number(live.rssBytes), inFlight: live.inFlight } : {}),
    };
  }

  #extraViews(): ExtraObjectView[] {
    return [...this.#extras].flatMap(([plural, informer]) =>
      informer.store.list().map((object) => extraObjectView(OPTIONAL_KINDS[plural]!, object)),
    );
  }

  /** Rebuilds the snapshot when what the Leases mean changed, not on every renewal. */
  #checkLeases(now = Date.now()): void {
    const leaseOf = (pod: Pod) =>
      this.#leases.get(pod.metadata.namespace!)?.store.get(cacheKey(pod));
    const digest = JSON.stringify([
      this.pods.store
        .list()
        .map((pod) => [
          cacheKey(pod),
          leaseFresh(leaseOf(pod), { now, staleAfterMs: DEFAULT_HOST_STALE_AFTER_MS }),
        ]),
      this.gatewayTargets(),
      this.#controllerLease()?.spec.holderIdentity,
    ]);
    if (digest === this.#leaseDigest) return;
    this.#leaseDigest = digest;
    this.changed();
  }

  #controllerLease(): Lease | undefined {
    const namespace = this.#options.namespace ?? this.#options.systemNamespace;
    return this.#leases.get(namespace)?.store.get(`${namespace}/${CONTROLLER_LEASE_NAME}`);
  }

  #allLeases(): Lease[] {
    return [...this.#leases.values()].flatMap((i) => i.store.list());
  }

  #watchLeases(namespace: string): void {
    if (this.#leases.has(namespace) || this.#stopped) return;
    const informer = new Informer(this.#options.client, Leases, {
      namespace,
      log: this.#options.log,
    });
    // A renewal alone changes nothing shown (pages count Lease ages from the
    // renewal time themselves): only a host, gateway or leader that comes,
    // goes or turns stale is worth a new snapshot.
    const check = () => this.#checkLeases();
    informer.addHandlers({ onAdd: check, onUpdate: check, onDelete: check });
    this.#leases.set(namespace, informer);
    // Late namespaces start here; the first one is started with the rest.
    if (this.pods.synced) void informer.start();
  }

  /** Which optional kinds are installed now (API discovery); an informer for each new one. */
  async #discoverOptionalKinds(): Promise<void> {
    let plurals: string[];
    try {
      const list = await this.#options.client.raw<{ resources?: { name: string }[] }>(
        'GET',
        `/apis/${ROOST_GROUP}/${ROOST_VERSION}`,
      );
      plurals = (list.resources ?? []).map((r) => r.name);
    } catch (err) {
      return void this.#options.log.warn(
        { err: errorMessage(err) },
        'cannot read the roost.dev API discovery',
      );
    }
    for (const [plural, kind] of Object.entries(OPTIONAL_KINDS)) {
      if (!plurals.includes(plural) || this.#extras.has(plural)) continue;
      const type: ResourceType<KubeObject> = {
        group: ROOST_GROUP,
        version: ROOST_VERSION,
        kind,
        plural,
        namespaced: true,
      };
      const informer = new Informer(this.#options.client, type, {
        namespace: this.#options.namespace,
        log: this.#options.log,
      });
      informer.addHandlers({
        onAdd: () => this.changed(),
        onUpdate: () => this.changed(),
        onDelete: () => this.changed(),
      });
      this.#extras.set(plural, informer);
      void informer.start().then(() => this.changed());
    }
  }
}

/** When a Lease was last renewed (Unix ms); pages count its age from there. */
function renewedAt(lease: Lease | undefined): number | null {
  const time = lease?.spec.renewTime ?? lease?.spec.acquireTime;
  return time ? Date.parse(time) : null;
}

function timeOf(event: Event): string {
  return (
    event.lastTimestamp ??
    (event as { eventTime?: string }).eventTime ??
    event.metadata.creationTimestamp ??
    ''
  );
}
