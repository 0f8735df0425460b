// The sidecar's one port: the SandboxHost gRPC service (Invoke, Logs, Stats
// and Health for gateways and tools) and, on connections that open with the
// invocation preface, the gateways' invocation frames (invoke-frames-server.ts).
// One port, told apart by the first bytes, so that nothing that finds a
// sidecar by its address (endpoints, the chart, NetworkPolicies) changes.
// Every call must carry the invoke token; the check is constant-time.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerDuplexStream,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { timingSafeEqual } from 'node:crypto';
import {
  sandboxHostService,
  type InvokeRequest,
  type InvokeResponse,
  type LogEntry,
  type LogLevel,
  type LogsRequest,
  type StatsRequest,
  type StatsResponse,
  type JavaBridgeStats,
  type HealthResponse,
  NOT_INVOKED_METADATA,
} from '../proto/sandbox-host.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { INVOKE_PREFACE } from '../proto/invoke-frames.ts';
import { InvokeRejected } from './errors.ts';
import { rejectedResponse, rejectionOf, runInvocation } from './invocation.ts';
import { InvokeFramesServer } from './invoke-frames-server.ts';
import type { LogFilter, LogLine, LogStore } from './log-store.ts';
import type { SandboxManager } from './sandbox-manager.ts';
import type { LogLevelName } from '../runtime-node/protocol.ts';

export interface GrpcServerOptions {
  logs: LogStore;
  token: string;
  podName: string;
  runtimes: string[];
  /** Takes a fresh sample of process memory and CPU, so Stats is current. */
  sampleUsage: () => Promise<void>;
  /** The pod's JVM bridge figures; undefined without a bridge (or while it is not up). */
  javaBridgeStats?: () => Promise<JavaBridgeStats | undefined>;
  log: Logger;
}

const LEVEL_NAMES: Record<LogLevelName, LogLevel> = {
  trace: 'LOG_LEVEL_TRACE',
  debug: 'LOG_LEVEL_DEBUG',
  info: 'LOG_LEVEL_INFO',
  warn: 'LOG_LEVEL_WARN',
  error: 'LOG_LEVEL_ERROR',
  fatal: 'LOG_LEVEL_FATAL',
};

type ServiceError = { code: status; details: string; metadata?: Metadata };

/** How long a new connection may take to send its first bytes (the preface, or HTTP/2's). */
export const FIRST_BYTES_TIMEOUT_MS = 10_000;
const IDLE_CONNECTION_MS = 5 * 60_000;

const notInvoked = new Metadata();
notInvoked.set(NOT_INVOKED_METADATA, 'true');

export class SidecarGrpcServer {
  readonly #server = new Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // A connection with no call for this long is closed (GOAWAY; a client
    // that wants it dials again): none is held for ever by a stranger.
    'grpc.max_connection_idle_ms': IDLE_CONNECTION_MS,
  });
  readonly #options: GrpcServerOptions;
  readonly #token: Buffer;
  readonly #frames: InvokeFramesServer;
  readonly #grpcConnections = this.#server.createConnectionInjector(
    ServerCredentials.createInsecure(),
  );
  #listener: NetServer | undefined;
  #manager: SandboxManager | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#token = Buffer.from(`Bearer ${options.token}`);
    this.#server.addService(sandboxHostService, this.#implementation());
    this.#frames = new InvokeFramesServer({
      token: options.token,
      invoke: (request) => runInvocation(this.#manager, options.logs, request),
      rejectionOf: (err) => rejectionOf(err, options.log),
      log: options.log,
    });
  }

  /** Serves the Sandboxes of this manager; calls before it arrive are refused UNAVAILABLE. */
  attach(manager: SandboxManager): void {
    this.#manager = manager;
  }

  /** Binds host:port (port 0 picks one) and returns the port. */
  listen(host: string, port: number): Promise<number> {
    const listener = createServer({ noDelay: true }, (socket) => this.#route(socket));
    this.#listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => {
        listener.off('error', reject);
        resolve((listener.address() as { port: number }).port);
      });
    });
  }

  async close(graceMs = 2000): Promise<void> {
    this.#listener?.close();
    const frames = this.#frames.close(graceMs);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await frames;
  }

  /** Hands a new connection to the invocation frames or to gRPC, by its first bytes. */
  #route(socket: Socket): void {
    let head: Buffer = Buffer.alloc(0);
    // Anyone who can reach the port can connect; one that never says which
    // protocol it speaks would hold a descriptor for ever, and enough of
    // them would leave none for the gateways.
    const deadline = setTimeout(() => socket.destroy(), FIRST_BYTES_TIMEOUT_MS);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    const sniff = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const compared = Math.min(head.length, INVOKE_PREFACE.length);
      const frames = head.subarray(0, compared).equals(INVOKE_PREFACE.subarray(0, compared));
      if (frames && head.length < INVOKE_PREFACE.length) return;
      socket.off('data', sniff);
      clearTimeout(deadline);
      socket.pause();
      if (frames) {
        this.#frames.serve(socket, head.subarray(INVOKE_PREFACE.length));
        socket.resume();
      } else {
        // HTTP/2 reads what was already taken from the socket before its own reads.
        socket.unshift(head);
        this.#grpcConnections.injectConnection(socket);
      }
    };
    socket.on('data', sniff);
    socket.on('error', () => undefined);
  }

  #authorized(metadata: Metadata): boolean {
    const given = Buffer.from(String(metadata.get('authorization')[0] ?? ''));
    return given.length === this.#token.length && timingSafeEqual(given, this.#token);
  }

  #implementation(): UntypedServiceImplementation {
    const unauthenticated: ServiceError = {
      code: status.UNAUTHENTICATED,
      details: 'a valid invoke token is required (authorization: Bearer <token>)',
    };
    const unary =
      <Req, Res>(handle: (request: Req) => Promise<Res>) =>
      (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
        if (!this.#authorized(call.metadata)) return callback(unauthenticated);
        handle(call.request).then(
          (response) => callback(null, response),
          (err: unknown) => {
            if (err instanceof InvokeRejected)
              return callback({ code: err.grpcCode, details: err.message });
            this.#options.log.error({ err: errorMessage(err) }, 'gRPC call failed');
            callback({ code: status.INTERNAL, details: errorMessage(err) });
          },
        );
      };
    return {
      invoke: unary((request: InvokeRequest) => this.#invoke(request)),
      invokeStream: (call: ServerDuplexStream<InvokeRequest, InvokeResponse>) => {
        if (!this.#authorized(call.metadata)) {
          call.emit('error', unauthenticated);
          return;
        }
        // The client half-closes when it has nothing more to send, not when
        // it wants no more answers: end our side only once every invocation
        // it sent has been answered, or those still running would be lost.
        let running = 0;
        let clientDone = false;
        const endIfDone = () => {
          if (clientDone && running === 0) call.end();
        };
        call.on('data', (request: InvokeRequest) => {
          running++;
          this.#invoke(request)
            .then(
              (response) => call.write({ ...response, streamId: request.streamId }),
              (err: unknown) =>
                call.write({
                  ...rejectedResponse(rejectionOf(err, this.#options.log)),
                  streamId: request.streamId,
                }),
            )
            .finally(() => {
              running--;
              endIfDone();
            });
        });
        call.on('end', () => {
          clientDone = true;
          endIfDone();
        });
        call.on('error', () => undefined);
      },
      stats: unary((request: StatsRequest) => this.#stats(request)),
      health: unary(async (): Promise<HealthResponse> => ({
        serving: true,
        pod: this.#options.podName,
        sandboxes: this.#manager?.list().length ?? 0,
        runtimes: this.#options.runtimes,
      })),
      logs: (call: ServerWritableStream<LogsRequest, LogEntry>) => {
        if (!this.#authorized(call.metadata)) {
          call.emit('error', unauthenticated);
          return;
        }
        void this.#logs(call);
      },
    };
  }

  #invoke(request: InvokeRequest): Promise<InvokeResponse> {
    return runInvocation(this.#manager, this.#options.logs, request);
  }

  async #stats(request: StatsRequest): Promise<StatsResponse> {
    await this.#options.sampleUsage();
    const sandboxes = (this.#manager?.list() ?? [])
      .filter(
        (p) =>
          (!request.namespace || p.identity.namespace === request.namespace) &&
          (!request.sandbox || p.identity.name === request.sandbox) &&
          (!request.deployment || p.identity.deployment === request.deployment),
      )
      .map((p) => {
        const usage = p.runtime.usage();
        return {
          namespace: p.identity.namespace,
          sandbox: p.identity.name,
          deployment: p.identity.deployment,
          runtime: p.identity.runtime,
          invocations: p.stats.invocations,
          errors: p.stats.errors,
          timeouts: p.stats.timeouts,
          coldStarts: p.stats.coldStarts,
          p50Ms: p.stats.percentile(50),
          p99Ms: p.stats.percentile(99),
          cpuSeconds: usage.cpuSeconds,
          rssBytes: usage.rssBytes,
          inFlight: p.inFlight,
          restarts: p.runtime.restartCount,
          hibernated: p.runtime.state.phase === 'hibernated',
          allocatedBytes: p.stats.allocatedBytes,
        };
      });
    const javaBridge = await this.#options.javaBridgeStats?.().catch((err: unknown) => {
      this.#options.log.debug({ err: errorMessage(err) }, 'the JVM bridge did not give its stats');
      return undefined;
    });
    return { pod: this.#options.podName, sandboxes, javaBridge: javaBridge ?? null };
  }

  async #logs(call: ServerWritableStream<LogsRequest, LogEntry>): Promise<void> {
    const request = call.request;
    const minLevel = Object.entries(LEVEL_NAMES).find(
      ([, name]) => name === request.minLevel,
    )?.[0] as LogLevelName | undefined;
    const filter: LogFilter = {
      namespace: request.namespace || undefined,
      sandbox: request.sandbox || undefined,
      deployment: request.deployment || undefined,
      minLevel,
      sinceMs: request.sinceMs || undefined,
      untilMs: request.untilMs || undefined,
      contains: request.contains || undefined,
      requestId: request.requestId || undefined,
      limit: request.limit || undefined,
    };
    const toEntry = (line: LogLine): LogEntry => ({
      ...line,
      timeMs: line.time,
      level: LEVEL_NAMES[line.level],
    });
    // Follow first, so that no line falls between the query and the subscription.
    const buffered: LogLine[] = [];
    let live = false;
    const unfollow = request.follow
      ? this.#options.logs.follow({ ...filter, limit: undefined }, (line) =>
          live ? call.write(toEntry(line)) : buffered.push(line),
        )
      : undefined;
    try {
      const past = await this.#options.logs.query(filter);
      for (const line of past) call.write(toEntry(line));
      if (!unfollow) {
        call.end();
        return;
      }
      const lastTime = past.at(-1)?.time ?? 0;
      for (const line of buffered)
        if (line.time >= lastTime && !past.includes(line)) call.write(toEntry(line));
      live = true;
      call.on('cancelled', unfollow);
      call.on('close', unfollow);
    } catch (err) {
      unfollow?.();
      call.emit('error', { code: status.INTERNAL, details: errorMessage(err) });
    }
  }
}
