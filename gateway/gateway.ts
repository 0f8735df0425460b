// The gateway, assembled: an HTTP/1.1 keep-alive server in front of the
// function table, the invoker with its activator, the durable event queue
// (accepting events and running them as one of its competing consumers), the
// Invoke API and the metrics; it registers itself so that the autoscaler can read the
// concurrency it sees.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient } from '../kube/client.ts';
import { errorMessage } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { sleep } from '../lib/duration.ts';
import { Activator } from './activator.ts';
import { EventQueue } from '../events/queue.ts';
import { EventRunner } from './event-runner.ts';
import { DEAD_LETTERS_PATH, REPLAY_PATH, serveEventsApi } from './events-api.ts';
import { SigV4Keys } from './lambda/sigv4.ts';
import { SidecarChannels } from './channels.ts';
import { FunctionTable } from './function-table.ts';
import { handleRequest, type RequestContext } from './handle-request.ts';
import { Invoker } from './invoker.ts';
import { GatewayMetrics } from './metrics.ts';
import { Registry } from 'prom-client';
import { registry as processRegistry } from '../lib/metrics.ts';
import { GatewayRegistration } from './registration.ts';
import { CONCURRENCY_PATH, type ConcurrencyReport } from './concurrency-report.ts';
import { InternalAuth } from './internal-auth.ts';
import { BodyBudget } from './body-budget.ts';
import { REVISION_STATS_PATH, RevisionStats } from './revision-stats.ts';
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from './limits.ts';
import {
  applyConnectionLimits,
  defaultMaxConnections,
  serverOptions,
} from './connection-limits.ts';

export interface GatewayConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  kubeconfig?: string;
  /** The invoke token sidecars require. */
  token: string;
  /** Namespace of the gateway's registration Lease (default roost-system). */
  namespace: string;
  /** Name of the registration Lease (default from host name and port). */
  name?: string;
  /** In a cluster, the uid of the gateway's pod (named `name`), which then owns the Lease. */
  podUid?: string;
  /** Longest a request waits for a function at zero (default 30 s). */
  activationWaitMs?: number;
  /** The event queue (NATS JetStream), nats://host:port; without it, event invocations are refused (503). */
  eventsUrl?: string;
  /** How long an event may go unanswered by this gateway before the broker offers it to another (default 30 s). */
  eventsAckWaitMs?: number;
  /** Events this gateway runs at once (default 64). */
  eventsConcurrency?: number;
  /** Namespace of an Invoke API FunctionName without one (default "default"). */
  invokeApiNamespace?: string;
  /** A directory of SigV4 keys (file name: access key id; content: secret key); when set, Invoke API calls must be signed with one. */
  sigv4KeysDir?: string;
  /** URL the autoscaler reaches this gateway at (default http://host:port). */
  advertiseUrl?: string;
  /**
   * On stop, how long to keep serving while /readyz says 503, so that load
   * balancers and Services stop sending here before the port closes (default
   * 0; a gateway behind a Kubernetes Service wants a few seconds).
   */
  drainDelayMs?: number;
  /** What the gateway holds at most (limits.ts has the defaults). */
  limits?: Partial<GatewayLimits>;
}

export interface RunningGateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  const log = createLogger('gateway');
  const limits: GatewayLimits = {
    ...DEFAULT_GATEWAY_LIMITS,
    maxConnections: defaultMaxConnections(DEFAULT_GATEWAY_LIMITS.maxConnections),
    ...config.limits,
  };
  const bodies = new BodyBudget(limits.bodyMemoryBytes);
  const client = KubeClient.load(config.kubeconfig, { fieldManager: 'roost-gateway' });
  const table = new FunctionTable(client, log);
  const metrics = new GatewayMetrics();
  const revisionStats = new RevisionStats();
  const channels = new SidecarChannels(config.token);
  const activator = new Activator({
    client,
    waitMs: config.activationWaitMs,
    maxHeldPerFunction: limits.maxHeldPerFunction,
    maxHeldTotal: limits.maxHeldTotal,
    log,
    onReleased: (entry, waitedMs) => metrics.forFunction(entry).coldStart.observe(waitedMs / 1000),
  });
  const invoker = new Invoker(channels, activator);
  const sigv4Keys = config.sigv4KeysDir ? new SigV4Keys(config.sigv4KeysDir) : undefined;
  await table.start();
  // The queue is joined in the background: a broker that is down (or not up
  // yet) costs event invocations (503 until it answers), never the gateway's
  // synchronous ones.
  let events: EventQueue | undefined;
  let depthPoll: { stop(): void } | undefined;
  let runner: EventRunner | undefined;
  let stopped = false;
  const joined = config.eventsUrl
    ? joinEventQueue(config.eventsUrl).catch((err: unknown) =>
        log.error({ err: errorMessage(err) }, 'cannot use the event queue'),
      )
    : undefined;
  async function joinEventQueue(url: string): Promise<void> {
    const queue = await EventQueue.connect({
      url,
      name: `roost-gateway ${config.name ?? ''}`.trim(),
      // The broker takes the invoke token, which functions never hold.
      token: config.token,
      waitOnFirstConnect: true,
    });
    if (stopped) return void (await queue.close());
    runner = new EventRunner({
      queue,
      table,
      invoker,
      metrics,
      log,
      ackWaitMs: config.eventsAckWaitMs,
      concurrency: config.eventsConcurrency,
    });
    await runner.start();
    events = queue;
    depthPoll = pollQueueDepths(queue, table, metrics, log);
    log.info({ url }, 'event queue joined');
  }
  if (!config.eventsUrl) log.warn('no --events-url: event invocations are refused (503)');
  // Tests and roost dev start the broker first: give it a moment before serving.
  if (joined) await Promise.race([joined, sleep(5000)]);

  let draining = false;
  const internalAuth = new InternalAuth(config.token);
  const serveOther = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const known = ['/healthz', '/readyz', '/metrics', CONCURRENCY_PATH, REVISION_STATS_PATH];
    if (!known.includes(path) && !path.startsWith('/internal/')) return false;
    internalAuth.check(path, req);
    if (path === DEAD_LETTERS_PATH || path === REPLAY_PATH) {
      void serveEventsApi(events, path, req, res);
      return true;
    }
    if (path === '/healthz') return reply(res, 200, 'text/plain', 'ok\n');
    if (path === '/readyz')
      return draining
        ? reply(res, 503, 'text/plain', 'draining\n')
        : table.synced
          ? reply(res, 200, 'text/plain', 'ok\n')
          : reply(res, 503, 'text/plain', 'informers not synced\n');
    if (path === '/metrics') {
      // The gateway's own series and the process's (lib/metrics.ts), as every component serves them.
      void Registry.merge([metrics.registry, processRegistry])
        .metrics()
        .then((text) => reply(res, 200, metrics.registry.contentType, text));
      return true;
    }
    if (path === CONCURRENCY_PATH) {
      const report: ConcurrencyReport = {
        gateway: registrationName,
        functions: table.all().map((e) => ({
          namespace: e.namespace,
          name: e.name,
          // Requests held for a cold function are demand too.
          averageConcurrency: e.concurrency.average,
          inFlight: e.concurrency.inFlight,
          held: e.held,
          queued: e.queued,
          requests: e.concurrency.requests,
        })),
      };
      return reply(res, 200, 'application/json', JSON.stringify(report));
    }
    if (path === REVISION_STATS_PATH)
      return reply(
        res,
        200,
        'application/json',
        JSON.stringify(revisionStats.report(registrationName)),
      );
    return false;
  };

  // One context for every request: the request path allocates nothing of its own here.
  const context: RequestContext = {
    table,
    invoker,
    get events() {
      return events;
    },
    invokeApi: {
      defaultNamespace: config.invokeApiNamespace ?? 'default',
      sigv4Keys,
      internalAuth,
    },
    metrics,
    revisionStats,
    bodies,
    serveOther,
  };
  const failed = (res: ServerResponse) => (err: unknown) => {
    log.error({ err: errorMessage(err) }, 'request handling failed');
    if (!res.headersSent) res.writeHead(500).end();
  };
  const server: Server = createServer(serverOptions(limits), (req, res) => {
    handleRequest(context, req, res).catch(failed(res));
  });
  const connections = applyConnectionLimits(server, limits, log);
  metrics.watch({ bodyBytes: () => bodies.usedBytes, connections: connections.open });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host}:${port}`;
  const registrationName = config.name ?? GatewayRegistration.defaultName(port);
  const registration = new GatewayRegistration({
    client,
    namespace: config.namespace,
    name: registrationName,
    podUid: config.podUid,
    url: config.advertiseUrl ?? url,
    log,
  });
  await registration.start();

  const ticker = setInterval(() => {
    for (const entry of table.all()) entry.concurrency.tick();
    revisionStats.retain((namespace, name) => table.get(namespace, name) !== undefined);
    channels.prune(table.addresses());
  }, 1000);
  ticker.unref();
  log.info({ url }, 'gateway ready');

  return {
    url,
    port,
    async stop() {
      draining = true;
      stopped = true;
      if (config.drainDelayMs) {
        log.info({ drainDelayMs: config.drainDelayMs }, 'draining: not ready, still serving');
        await new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
      }
      clearInterval(ticker);
      depthPoll?.stop();
      await registration.stop();
      // Events still running finish and are acked; those not yet taken stay queued for other gateways.
      await runner?.stop();
      await events?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      await table.stop();
      channels.closeAll();
      client.close();
    },
  };
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): true {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return true;
}

/** How often the queue's depth per function is read (metrics, and the autoscaler's demand). */
const DEPTH_POLL_MS = 1000;

/**
 * Reads how many events wait for each function: the roost_events_* gauges,
 * and FunctionEntry.queued, which the concurrency report carries so that a
 * function at zero with queued events is scaled up.
 */
function pollQueueDepths(
  events: EventQueue,
  table: FunctionTable,
  metrics: GatewayMetrics,
  log: ReturnType<typeof createLogger>,
): { stop(): void } {
  let stopped = false;
  let warned = false;
  const poll = async () => {
    try {
      const depths = await events.depths();
      for (const entry of table.all()) {
        const depth = depths.get(entry.key) ?? 0;
        entry.queued = depth;
        metrics.eventsQueued.labels(entry.namespace, entry.name).set(depth);
        const oldest = depth > 0 ? await events.oldestAcceptedAt(entry) : undefined;
        metrics.eventsOldestAge
          .labels(entry.namespace, entry.name)
          .set(oldest ? (Date.now() - oldest) / 1000 : 0);
      }
      warned = false;
    } catch (err) {
      if (!warned) log.warn({ err: errorMessage(err) }, 'cannot read the event queue depths');
      warned = true;
    }
  };
  const timer = setInterval(() => {
    if (!stopped) void poll();
  }, DEPTH_POLL_MS);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
