// The console's figures, kept in memory without Prometheus: on every tick it
// reads each gateway's /metrics (requests by code, the duration histogram,
// cold starts, in-flight, events waiting in the queue) and each sidecar's Stats (memory and state of every
// Sandbox), turns the gateways' counters into rates over the tick, and keeps
// one bounded series per function covering the last hour.
import type { StatsResponse, SandboxStatsMessage as SandboxStats } from '../proto/sandbox-host.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import { bearer } from '../gateway/internal-auth.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { histogramQuantile, parsePrometheusText, type PromSample } from './prometheus-text.ts';
import { RingSeries } from './series.ts';
import type { FiguresTick, FunctionFigures } from './view-types.ts';

export const SERIES_NAMES = [
  'rps',
  'errors',
  'p50',
  'p99',
  'coldStarts',
  'inFlight',
  'queued',
  'desired',
  'ready',
] as const;
const SERIES_WINDOW_MS = 3600_000;
const SCRAPE_TIMEOUT_MS = 3000;

export interface GatewayTarget {
  name: string;
  url: string;
}

export interface SidecarTarget {
  pod: string;
  namespace: string;
  address: string;
}

export interface FiguresOptions {
  token: string;
  intervalMs: number;
  log: Logger;
  gateways(): GatewayTarget[];
  sidecars(): SidecarTarget[];
  /** Every function that exists now ("namespace/name") with its replicas, for the scaling timeline. */
  functions(): Map<string, { desired: number; ready: number }>;
}

/** A gateway's counters for one function at its last scrape. */
interface Counters {
  requests: number;
  errors: number;
  coldStarts: number;
  inFlight: number;
  /** Events waiting in the durable queue: the queue's own figure, the same from every gateway. */
  queued: number;
  buckets: Map<number, number>;
}

export interface GatewayScrape {
  at: number | null;
  error?: string;
}

export interface SidecarStats {
  at: number;
  sandboxes: Map<string, SandboxStats>;
  /** The pod's JVM bridge, when it has one. */
  javaBridge?: { heapUsedBytes: number; heapMaxBytes: number; loadedSandboxes: number };
}

export class Figures {
  readonly #options: FiguresOptions;
  readonly #series = new Map<string, RingSeries>();
  readonly #latest = new Map<string, FunctionFigures>();
  readonly #previous = new Map<string, Map<string, Counters>>();
  readonly #scrapes = new Map<string, GatewayScrape>();
  readonly #stats = new Map<string, SidecarStats>();
  readonly #connections = new Map<string, SandboxHostConnection>();
  readonly #listeners = new Set<(tick: FiguresTick) => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastTickAt = 0;
  #ticking = false;
  #lastDigest = '';

  constructor(options: FiguresOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#options.intervalMs);
    void this.tick();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const connection of this.#connections.values()) connection.close();
    this.#connections.clear();
  }

  /** Called after each tick that changed what a page shows (a quiet cluster pushes nothing). */
  onTick(listener: (tick: FiguresTick) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  figuresOf(key: string): FunctionFigures {
    return this.#latest.get(key) ?? emptyFigures();
  }

  seriesOf(key: string): Record<string, (number | null)[]> {
    return this.#series.get(key)?.columns() ?? { t: [] };
  }

  gatewayScrape(name: string): GatewayScrape {
    return this.#scrapes.get(name) ?? { at: null };
  }

  statsOf(pod: string): SidecarStats | undefined {
    return this.#stats.get(pod);
  }

  /** One round: scrape everything, compute, publish. Overlapping ticks are skipped. */
  async tick(now = Date.now()): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const elapsedS = this.#lastTickAt ? (now - this.#lastTickAt) / 1000 : 0;
      this.#lastTickAt = now;
      const [deltas] = await Promise.all([this.#scrapeGateways(now), this.#pollSidecars(now)]);
      this.#record(now, elapsedS, deltas);
    } finally {
      this.#ticking = false;
    }
  }

  async #scrapeGateways(now: number): Promise<Map<string, Counters>> {
    const gateways = this.#options.gateways();
    const summed = new Map<string, Counters>();
    for (const name of this.#scrapes.keys())
      if (!gateways.some((g) => g.name === name)) {
        this.#scrapes.delete(name);
        this.#previous.delete(name);
      }
    await Promise.all(
      gateways.map(async (gateway) => {
        let current: Map<string, Counters>;
        try {
          const response = await fetch(new URL('/metrics', gateway.url), {
            headers: bearer(this.#options.token),
            signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
          });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          current = countersFrom(parsePrometheusText(await response.text(), 'roost_'));
          this.#scrapes.set(gateway.name, { at: now });
        } catch (err) {
          this.#scrapes.set(gateway.name, {
            at: this.#scrapes.get(gateway.name)?.at ?? null,
            error: errorMessage(err),
          });
          return;
        }
        const previous = this.#previous.get(gateway.name);
        this.#previous.set(gateway.name, current);
        // A gateway's first scrape is its baseline: its totals so far are not this tick's.
        if (!previous) {
          for (const [key, counters] of current)
            add(summed, key, { ...zero(), inFlight: counters.inFlight, queued: counters.queued });
          return;
        }
        for (const [key, counters] of current)
          add(summed, key, difference(counters, previous.get(key)));
      }),
    );
    return summed;
  }

  async #pollSidecars(now: number): Promise<void> {
    const sidecars = this.#options.sidecars();
    const wanted = new Set(sidecars.map((s) => s.address));
    for (const [address, connection] of this.#connections)
      if (!wanted.has(address)) {
        connection.close();
        this.#connections.delete(address);
      }
    for (const pod of this.#stats.keys())
      if (!sidecars.some((s) => s.pod === pod)) this.#stats.delete(pod);
    await Promise.all(
      sidecars.map(async (sidecar) => {
        let connection = this.#connections.get(sidecar.address);
        if (!connection)
          this.#connections.set(
            sidecar.address,
            (connection = new SandboxHostConnection(sidecar.address, this.#options.token)),
          );
        try {
          const response: StatsResponse = await connection.stats({});
          this.#stats.set(sidecar.pod, {
            at: now,
            sandboxes: new Map(response.sandboxes.map((s) => [`${s.namespace}/${s.sandbox}`, s])),
            ...(response.javaBridge
              ? {
                  javaBridge: {
                    heapUsedBytes: Number(response.javaBridge.heapUsedBytes),
                    heapMaxBytes: Number(response.javaBridge.heapMaxBytes),
                    loadedSandboxes: response.javaBridge.loadedSandboxes,
                  },
                }
              : {}),
          });
        } catch (err) {
          this.#options.log.debug(
            { pod: sidecar.pod, err: errorMessage(err) },
            'sidecar Stats failed',
          );
        }
      }),
    );
  }

  #record(now: number, elapsedS: number, deltas: Map<string, Counters>): void {
    const functions = this.#options.functions();
    const capacity = Math.max(2, Math.ceil(SERIES_WINDOW_MS / this.#options.intervalMs));
    for (const key of this.#series.keys())
      if (!functions.has(key)) {
        this.#series.delete(key);
        this.#latest.delete(key);
      }
    const tick: FiguresTick = { t: now, functions: {} };
    for (const [key, replicas] of functions) {
      const delta = deltas.get(key) ?? zero();
      let series = this.#series.get(key);
      if (!series) this.#series.set(key, (series = new RingSeries(SERIES_NAMES, capacity)));
      const bucketList = [...delta.buckets];
      const p50 = histogramQuantile(0.5, bucketList);
      const p99 = histogramQuantile(0.99, bucketList);
      const rps = elapsedS > 0 ? delta.requests / elapsedS : 0;
      const values = {
        rps,
        errors: delta.requests > 0 ? delta.errors / delta.requests : 0,
        p50: p50 === undefined ? NaN : p50 * 1000,
        p99: p99 === undefined ? NaN : p99 * 1000,
        coldStarts: delta.coldStarts,
        inFlight: delta.inFlight,
        queued: delta.queued,
        desired: replicas.desired,
        ready: replicas.ready,
      };
      series.push(now, values);
      const figures: FunctionFigures = {
        rps,
        errorRate: values.errors,
        p50Ms: p50 === undefined ? null : values.p50,
        p99Ms: p99 === undefined ? null : values.p99,
        coldStartsHour: series.sumSince('coldStarts', now - SERIES_WINDOW_MS),
        inFlight: delta.inFlight,
        queuedEvents: delta.queued,
        lastInvocationAt:
          delta.requests > 0 ? now : (this.#latest.get(key)?.lastInvocationAt ?? null),
      };
      this.#latest.set(key, figures);
      tick.functions[key] = figures;
    }
    const digest = JSON.stringify([
      tick.functions,
      [...this.#stats].map(([pod, s]) => [
        pod,
        [...s.sandboxes.values()].map((x) => [
          x.sandbox,
          Math.round(Number(x.rssBytes) / 1048576),
          x.hibernated,
          x.inFlight,
        ]),
      ]),
    ]);
    if (digest === this.#lastDigest) return;
    this.#lastDigest = digest;
    for (const listener of this.#listeners) listener(tick);
  }
}

export function emptyFigures(): FunctionFigures {
  return {
    rps: 0,
    errorRate: 0,
    p50Ms: null,
    p99Ms: null,
    coldStartsHour: 0,
    inFlight: 0,
    queuedEvents: 0,
    lastInvocationAt: null,
  };
}

function zero(): Counters {
  return { requests: 0, errors: 0, coldStarts: 0, inFlight: 0, queued: 0, buckets: new Map() };
}

/** The gateway's samples as counters per function. */
export function countersFrom(samples: PromSample[]): Map<string, Counters> {
  const byFunction = new Map<string, Counters>();
  const of = (labels: Record<string, string>) => {
    const key = `${labels.namespace}/${labels.function}`;
    let counters = byFunction.get(key);
    if (!counters) byFunction.set(key, (counters = zero()));
    return counters;
  };
  for (const { name, labels, value } of samples) {
    if (labels.namespace === undefined || labels.function === undefined) continue;
    if (name === 'roost_gateway_requests_total') {
      const counters = of(labels);
      counters.requests += value;
      if (Number(labels.code) >= 500) counters.errors += value;
    } else if (name === 'roost_gateway_request_duration_seconds_bucket') {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      of(labels).buckets.set(le, value);
    } else if (name === 'roost_gateway_cold_start_duration_seconds_count') {
      of(labels).coldStarts += value;
    } else if (name === 'roost_gateway_inflight') {
      of(labels).inFlight += value;
    } else if (name === 'roost_events_queued') {
      const counters = of(labels);
      counters.queued = Math.max(counters.queued, value);
    }
  }
  return byFunction;
}

/** What happened between two scrapes; a counter that went down means the gateway restarted. */
function difference(current: Counters, previous: Counters | undefined): Counters {
  const since = (now: number, before: number | undefined) =>
    before === undefined || now < before ? now : now - before;
  const restarted = previous !== undefined && current.requests < previous.requests;
  const base = restarted ? undefined : previous;
  const buckets = new Map<number, number>();
  for (const [le, count] of current.buckets) buckets.set(le, since(count, base?.buckets.get(le)));
  return {
    requests: since(current.requests, base?.requests),
    errors: since(current.errors, base?.errors),
    coldStarts: since(current.coldStarts, base?.coldStarts),
    inFlight: current.inFlight,
    queued: current.queued,
    buckets,
  };
}

function add(sum: Map<string, Counters>, key: string, counters: Counters): void {
  const into = sum.get(key);
  if (!into) return void sum.set(key, counters);
  into.requests += counters.requests;
  into.errors += counters.errors;
  into.coldStarts += counters.coldStarts;
  into.inFlight += counters.inFlight;
  // Every gateway reads the same queue: its depth is counted once.
  into.queued = Math.max(into.queued, counters.queued);
  for (const [le, count] of counters.buckets)
    into.buckets.set(le, (into.buckets.get(le) ?? 0) + count);
}
