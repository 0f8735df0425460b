// What the gateway knows about each function, kept current by informers on
// SandboxDeployments (settings), SandboxEndpoints (where its ready Sandboxes
// are, and of which revision) and SandboxRoutes (how traffic splits between
// revisions; traffic.ts reads them). Endpoint objects survive updates, so that in-flight counts
// stay true while the list changes under them.
import type { SandboxDeployment, SandboxEndpoints, SandboxRoute } from '../kube/api/roost.ts';
import { SandboxDeployments, SandboxEndpointsType, SandboxRoutes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { cacheKey } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { HOP_BY_HOP_HEADERS, isValidHeader } from '../lib/http-headers.ts';
import type { Logger } from '../lib/log.ts';
import { ConcurrencyTracker } from './concurrency.ts';
import { TokenBucket } from './token-bucket.ts';
import { ASYNC_DEFAULTS, FUNCTION_DEFAULTS } from '../kube/api/defaults.ts';

export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface Endpoint {
  sandbox: string;
  /** host:port of the sidecar. */
  address: string;
  inFlight: number;
  /** A refusal before the function ran puts it aside until then (performance.now()). */
  suspectUntil: number;
  /** Revision number of the Sandbox, when the endpoints controller knew it. */
  revision: number | undefined;
}

/** Which of a function's endpoints a request may use: one revision, or all but some. */
export interface EndpointPool {
  revision?: number;
  excluding?: ReadonlySet<number>;
  /**
   * The revision is reached only by a tag at 0%: with autoscaling it sleeps
   * at zero when unused, and a request for it says so, which wakes it.
   */
  wakeable?: boolean;
}

export interface FunctionSettings {
  timeoutMs: number;
  maxBodyBytes: number;
  maxConcurrency: number | undefined;
  fallback: { statusCode: number; headers: Record<string, string>; body: string } | undefined;
  autoscaled: boolean;
  /** spec.async with its defaults: how event invocations are tried. */
  async: AsyncSettings;
}

export interface AsyncSettings {
  maxRetries: number;
  maxEventAgeMs: number;
  retryDelayMs: number;
  /** A function in the same namespace that gets a record of each event that failed for good. */
  onFailure: string | undefined;
}

export class FunctionEntry {
  readonly namespace: string;
  readonly name: string;
  /** namespace/name, made once: the request path reads it on every request. */
  readonly key: string;
  readonly concurrency = new ConcurrencyTracker();
  deployment: SandboxDeployment | undefined;
  settings: FunctionSettings;
  endpoints: Endpoint[] = [];
  /** The SandboxRoutes of this function, by name (the one named like it is the default). */
  readonly routes = new Map<string, SandboxRoute>();
  rateLimit: TokenBucket | undefined;
  /** Requests held by the activator. */
  held = 0;
  /** Requests admitted and still sending their bodies. */
  reading = 0;
  /** Events waiting for it in the durable queue, as last read (every gateway sees the same). */
  queued = 0;
  readonly #waiters = new Set<() => void>();

  constructor(namespace: string, name: string) {
    this.namespace = namespace;
    this.name = name;
    this.key = `${namespace}/${name}`;
    this.settings = settingsOf(undefined);
  }

  /** Ready endpoints not set aside, of the pool if one is given. */
  available(now = performance.now(), pool?: EndpointPool): Endpoint[] {
    // A loop, not filter(): this runs on every request.
    const revision = pool?.revision;
    const excluding = pool?.excluding;
    const available: Endpoint[] = [];
    for (const e of this.endpoints)
      if (
        e.suspectUntil <= now &&
        (revision === undefined || e.revision === revision) &&
        (e.revision === undefined || !excluding?.has(e.revision))
      )
        available.push(e);
    return available;
  }

  /** Resolves when the endpoints change, or after timeoutMs, whichever comes first. */
  waitForEndpointsChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  setDeployment(deployment: SandboxDeployment | undefined): void {
    this.deployment = deployment;
    this.settings = settingsOf(deployment);
    const limit = deployment?.spec.gateway?.rateLimit;
    if (!limit) this.rateLimit = undefined;
    else if (
      this.rateLimit?.ratePerSecond !== limit.requestsPerSecond ||
      this.rateLimit.burst !== (limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond)))
    ) {
      this.rateLimit = new TokenBucket({
        ratePerSecond: limit.requestsPerSecond,
        burst: limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond)),
      });
    }
  }

  setEndpoints(object: SandboxEndpoints | undefined): void {
    const previous = new Map(this.endpoints.map((e) => [e.sandbox, e]));
    this.endpoints = (object?.status?.endpoints ?? [])
      .filter((e) => e.ready !== false && !e.terminating && e.address)
      .map((e) => {
        const kept = previous.get(e.sandbox);
        if (kept && kept.address === e.address) {
          kept.revision = e.revisionNumber;
          return kept;
        }
        return {
          sandbox: e.sandbox,
          address: e.address,
          inFlight: 0,
          suspectUntil: 0,
          revision: e.revisionNumber,
        };
      });
    for (const wake of [...this.#waiters]) wake();
  }
}

function settingsOf(deployment: SandboxDeployment | undefined): FunctionSettings {
  const gateway = deployment?.spec.gateway;
  const functionTimeout =
    deployment?.spec.template.spec.function.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds;
  const fallback = gateway?.fallback;
  return {
    timeoutMs: (gateway?.timeoutSeconds ?? functionTimeout) * 1000,
    maxBodyBytes: gateway?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxConcurrency: gateway?.maxConcurrency,
    fallback: fallback
      ? {
          statusCode: fallback.statusCode ?? 200,
          headers: sendableHeaders(fallback.headers ?? {}),
          body: fallback.body ?? '',
        }
      : undefined,
    autoscaled: deployment?.spec.autoscaling !== undefined,
    async: {
      maxRetries: deployment?.spec.async?.maxRetries ?? ASYNC_DEFAULTS.maxRetries,
      maxEventAgeMs:
        (deployment?.spec.async?.maxEventAgeSeconds ?? ASYNC_DEFAULTS.maxEventAgeSeconds) * 1000,
      retryDelayMs:
        (deployment?.spec.async?.retryDelaySeconds ?? ASYNC_DEFAULTS.retryDelaySeconds) * 1000,
      onFailure: deployment?.spec.async?.onFailure?.function.name,
    },
  };
}

export class FunctionTable {
  readonly #entries = new Map<string, FunctionEntry>();
  readonly #deployments: Informer<SandboxDeployment>;
  readonly #endpoints: Informer<SandboxEndpoints>;
  readonly #routes: Informer<SandboxRoute>;

  constructor(client: KubeClient, log: Logger) {
    this.#deployments = new Informer(client, SandboxDeployments, { log });
    this.#endpoints = new Informer(client, SandboxEndpointsType, { log });
    this.#routes = new Informer(client, SandboxRoutes, { log });
    const routeKey = (r: SandboxRoute) => `${r.metadata.namespace}/${r.spec.deployment}`;
    this.#routes.addHandlers({
      onAdd: (r) => this.#entry(routeKey(r)).routes.set(r.metadata.name!, r),
      onUpdate: (_, r) => this.#entry(routeKey(r)).routes.set(r.metadata.name!, r),
      onDelete: (r) => this.#entry(routeKey(r)).routes.delete(r.metadata.name!),
    });
    this.#deployments.addHandlers({
      onAdd: (d) => this.#entry(cacheKey(d)).setDeployment(d),
      onUpdate: (_, d) => this.#entry(cacheKey(d)).setDeployment(d),
      onDelete: (d) => this.#entry(cacheKey(d)).setDeployment(undefined),
    });
    this.#endpoints.addHandlers({
      onAdd: (e) => this.#entry(cacheKey(e)).setEndpoints(e),
      onUpdate: (_, e) => this.#entry(cacheKey(e)).setEndpoints(e),
      onDelete: (e) => this.#entry(cacheKey(e)).setEndpoints(undefined),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.#deployments.start(), this.#endpoints.start(), this.#routes.start()]);
  }

  get synced(): boolean {
    return this.#deployments.synced && this.#endpoints.synced && this.#routes.synced;
  }

  async stop(): Promise<void> {
    await Promise.all([this.#deployments.stop(), this.#endpoints.stop(), this.#routes.stop()]);
  }

  /** The function, if a SandboxDeployment of that name exists. */
  get(namespace: string, name: string): FunctionEntry | undefined {
    const entry = this.#entries.get(`${namespace}/${name}`);
    return entry?.deployment ? entry : undefined;
  }

  all(): FunctionEntry[] {
    return [...this.#entries.values()].filter((e) => e.deployment);
  }

  /** Every address some function routes to, for closing idle channels. */
  addresses(): Set<string> {
    return new Set([...this.#entries.values()].flatMap((e) => e.endpoints.map((p) => p.address)));
  }

  #entry(key: string): FunctionEntry {
    let entry = this.#entries.get(key);
    if (!entry) {
      const [namespace, name] = key.split('/') as [string, string];
      entry = new FunctionEntry(namespace, name);
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

/**
 * The fallback headers Node can send. The CRD refuses the others, but an
 * object stored before that rule (or written around it) must not turn every
 * fallback into a 500: what cannot be sent is left out.
 */
export function sendableHeaders(headers: Record<string, string>): Record<string, string> {
  const sendable: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (HOP_BY_HOP_HEADERS.has(name.toLowerCase()) || !isValidHeader(name, value)) continue;
    sendable[name] = value;
  }
  return sendable;
}
