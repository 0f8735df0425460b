// Roost's Prometheus metrics, one module for every component (prom-client).
// As controller-runtime keeps one registry per process, so does Roost: the
// code that counts (the work queue, a reconciler, the scheduler, a plug)
// declares its series here once, at module level, and whichever command runs
// it (`roost controller`, `roost sidecar`, `roost gateway`) serves them all on
// its /metrics, behind the invoke token. Names follow Prometheus conventions:
// `roost_<subsystem>_<what>_<unit>`, `_total` for counters, seconds and bytes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { BearerToken } from './bearer-token.ts';
import type { Logger } from './log.ts';

/** The process's registry: every series below lands here. */
export const registry = new Registry();

/** Latency buckets, in seconds, for work that takes from a millisecond to a minute. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * A counter in the process registry, made once: a leadership term builds its
 * controllers afresh, and their series must carry on, not be declared twice.
 */
export function counter<L extends string>(config: CounterConfiguration<L>): Counter<L> {
  return (
    (registry.getSingleMetric(config.name) as Counter<L> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}

export function gauge<L extends string>(config: GaugeConfiguration<L>): Gauge<L> {
  return (
    (registry.getSingleMetric(config.name) as Gauge<L> | undefined) ??
    new Gauge({ ...config, registers: [registry] })
  );
}

export function histogram<L extends string>(config: HistogramConfiguration<L>): Histogram<L> {
  return (
    (registry.getSingleMetric(config.name) as Histogram<L> | undefined) ??
    new Histogram({ buckets: LATENCY_BUCKETS, ...config, registers: [registry] })
  );
}

let defaultsFor: string | undefined;

/**
 * The process's own series (CPU, memory, event-loop lag, handles), named
 * after the component: `roost_controller_process_cpu_seconds_total`,
 * `roost_sidecar_nodejs_eventloop_lag_seconds`. Called once by the command
 * that runs the process.
 */
export function collectProcessMetrics(component: string): void {
  if (defaultsFor) return;
  defaultsFor = component;
  collectDefaultMetrics({ register: registry, prefix: `roost_${component}_` });
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Callers must send it as "authorization: Bearer <token>", as to the gateway's /metrics. */
  token: string;
  /** More registries served beside the process one (the gateway's own). */
  also?: Registry[];
  log?: Logger;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (the token required) and /healthz on a port of its own,
 * for components whose main port is not HTTP (the sidecar's gRPC) or that
 * have none (the controller).
 */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const token = new BearerToken(options.token);
  const registries = [registry, ...(options.also ?? [])];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200).end('ok');
    if (path !== '/metrics') return void res.writeHead(404).end('not found\n');
    if (!token.accepts(req)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' });
      return void res.end(
        '401: /metrics requires the invoke token (authorization: Bearer <token>)\n',
      );
    }
    Registry.merge(registries)
      .metrics()
      .then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          options.log?.warn({ err: String(err) }, 'cannot collect metrics');
          res.writeHead(500).end('cannot collect metrics\n');
        },
      );
  });
  // Scrapes are short; a client that opens and idles holds nothing for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
