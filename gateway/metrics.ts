// The gateway's Prometheus metrics (prom-client), in a registry of its own so
// that two gateways in one process (tests) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One function's metric series, looked up once per request. The request
 * counts and the in-flight gauge are plain numbers here, handed to prom-client
 * when /metrics is read: a prom-client child hashes its labels again on every
 * inc(), which on the request path cost more than the rest of the bookkeeping.
 */
export interface FunctionMetrics {
  inflight: { inc(): void; dec(): void };
  duration: { observe(seconds: number): void };
  requests(code: number): { inc(): void };
  coldStart: { observe(seconds: number): void };
}

/** A count kept as a number until it is scraped. */
class LocalCount {
  value = 0;
  /** What prom-client has been given so far (counters only). */
  reported = 0;
  inc(): void {
    this.value++;
  }
  dec(): void {
    this.value--;
  }
}

/** What is counted per function outside prom-client until a scrape. */
interface LocalSeries {
  namespace: string;
  name: string;
  inflight: LocalCount | undefined;
  requests: Map<number, LocalCount>;
}

export class GatewayMetrics {
  readonly #byFunction = new Map<string, FunctionMetrics>();
  readonly #local: LocalSeries[] = [];
  readonly registry = new Registry();
  readonly requests: Counter<'namespace' | 'function' | 'code'>;
  readonly duration: Histogram<'namespace' | 'function'>;
  readonly inflight: Gauge<'namespace' | 'function'>;
  readonly coldStart: Histogram<'namespace' | 'function'>;
  readonly events: Counter<'namespace' | 'function' | 'outcome'>;
  readonly eventsQueued: Gauge<'namespace' | 'function'>;
  readonly eventsOldestAge: Gauge<'namespace' | 'function'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'roost_gateway_' });
    const local = this.#local;
    this.requests = new Counter({
      name: 'roost_gateway_requests_total',
      help: 'Requests answered, by function and HTTP status code.',
      labelNames: ['namespace', 'function', 'code'],
      registers: [this.registry],
      collect() {
        for (const series of local)
          for (const [code, count] of series.requests) {
            const delta = count.value - count.reported;
            if (delta === 0) continue;
            this.labels(series.namespace, series.name, String(code)).inc(delta);
            count.reported = count.value;
          }
      },
    });
    this.duration = new Histogram({
      name: 'roost_gateway_request_duration_seconds',
      help: 'Time from a request arriving to its response, including any wait for a cold function.',
      labelNames: ['namespace', 'function'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.inflight = new Gauge({
      name: 'roost_gateway_inflight',
      help: 'Requests in flight through this gateway, including ones held for a cold function.',
      labelNames: ['namespace', 'function'],
      registers: [this.registry],
      collect() {
        for (const series of local)
          if (series.inflight)
            this.labels(series.namespace, series.name).set(series.inflight.value);
      },
    });
    this.coldStart = new Histogram({
      name: 'roost_gateway_cold_start_duration_seconds',
      help: 'How long requests were held because their function had no ready Sandbox.',
      labelNames: ['namespace', 'function'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [this.registry],
    });
    this.events = new Counter({
      name: 'roost_gateway_events_total',
      help: 'Event invocations this gateway took from the queue, by outcome: succeeded, retried (the function failed; queued again), dead-lettered, deferred (not due, or no instance could run it yet), withdrawn (taken back by its sender before it started).',
      labelNames: ['namespace', 'function', 'outcome'],
      registers: [this.registry],
    });
    this.eventsQueued = new Gauge({
      name: 'roost_events_queued',
      help: 'Event invocations waiting in the durable queue (including those being run), by function; the same in every gateway.',
      labelNames: ['namespace', 'function'],
      registers: [this.registry],
    });
    this.eventsOldestAge = new Gauge({
      name: 'roost_events_oldest_age_seconds',
      help: 'Age of the oldest event waiting for a function, from when it was accepted.',
      labelNames: ['namespace', 'function'],
      registers: [this.registry],
    });
  }

  /** Gauges read when scraped: what the gateway holds now. */
  watch(sources: { bodyBytes: () => number; connections: () => number }): void {
    new Gauge({
      name: 'roost_gateway_body_memory_bytes',
      help: 'Memory held for request bodies now (3 bytes per byte of body), against --body-memory-mib.',
      registers: [this.registry],
      collect() {
        this.set(sources.bodyBytes());
      },
    });
    new Gauge({
      name: 'roost_gateway_connections',
      help: 'Client connections open now, against --max-connections.',
      registers: [this.registry],
      collect() {
        this.set(sources.connections());
      },
    });
  }

  /** The series of one function, made on first use. */
  forFunction(fn: { key: string; namespace: string; name: string }): FunctionMetrics {
    let metrics = this.#byFunction.get(fn.key);
    if (!metrics) {
      const { namespace, name } = fn;
      const series: LocalSeries = { namespace, name, inflight: undefined, requests: new Map() };
      this.#local.push(series);
      metrics = {
        // The gauge's series appears once the function has had a request in flight.
        get inflight() {
          return (series.inflight ??= new LocalCount());
        },
        duration: this.duration.labels(namespace, name),
        coldStart: this.coldStart.labels(namespace, name),
        requests: (code) => {
          let count = series.requests.get(code);
          if (!count) series.requests.set(code, (count = new LocalCount()));
          return count;
        },
      };
      this.#byFunction.set(fn.key, metrics);
    }
    return metrics;
  }
}
