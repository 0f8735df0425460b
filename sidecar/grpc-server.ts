// The SandboxHost gRPC service: Invoke, Logs, Stats and Health for gateways
// and tools. Every call must carry the invoke token; the check is constant-time.
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
  type FunctionError,
  NOT_INVOKED_METADATA,
} from '../proto/sandbox-host.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { InvokeRejected, sandboxNotFound } from './errors.ts';
import type { FunctionErrorKind } from './function-runtime.ts';
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

const ERROR_KINDS: Record<FunctionErrorKind, FunctionError> = {
  unhandled: 'FUNCTION_ERROR_UNHANDLED',
  timeout: 'FUNCTION_ERROR_TIMEOUT',
  'out-of-memory': 'FUNCTION_ERROR_OUT_OF_MEMORY',
  crashed: 'FUNCTION_ERROR_CRASHED',
};

/** An InvokeStream answer for a refused invocation: the status Invoke would have failed with. */
function rejected(streamId: number, err: unknown, log: Logger): InvokeResponse {
  const refusal = err instanceof InvokeRejected;
  if (!refusal) log.error({ err: errorMessage(err) }, 'invocation failed');
  return {
    result: Buffer.alloc(0),
    logTail: '',
    error: 'FUNCTION_ERROR_NONE',
    errorType: '',
    errorMessage: '',
    stackTrace: [],
    durationMs: 0,
    memoryBytes: 0,
    coldStart: false,
    cpuMicros: 0,
    streamId,
    rejection: {
      code: refusal ? err.grpcCode : status.INTERNAL,
      message: errorMessage(err),
      notInvoked: refusal,
    },
  };
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

/** As much of an invocation's log as Lambda's X-Amz-Log-Result carries. */
const LOG_TAIL_BYTES = 4096;

const notInvoked = new Metadata();
notInvoked.set(NOT_INVOKED_METADATA, 'true');

export class SidecarGrpcServer {
  readonly #server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  readonly #options: GrpcServerOptions;
  readonly #token: Buffer;
  #manager: SandboxManager | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#token = Buffer.from(`Bearer ${options.token}`);
    this.#server.addService(sandboxHostService, this.#implementation());
  }

  /** Serves the Sandboxes of this manager; calls before it arrive are refused UNAVAILABLE. */
  attach(manager: SandboxManager): void {
    this.#manager = manager;
  }

  /** Binds host:port (port 0 picks one) and returns the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  }

  async close(graceMs = 2000): Promise<void> {
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
              (err: unknown) => call.write(rejected(request.streamId, err, this.#options.log)),
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

  async #invoke(request: InvokeRequest): Promise<InvokeResponse> {
    const plugged = this.#manager?.get(request.namespace, request.sandbox);
    if (!plugged) throw sandboxNotFound(`${request.namespace}/${request.sandbox}`);
    const outcome = await plugged.invoke({
      requestId: request.requestId,
      payload: request.payload,
      timeoutMs: request.timeoutMs,
    });
    return {
      result: Buffer.from(outcome.result ?? new Uint8Array()),
      error: outcome.error ? ERROR_KINDS[outcome.error.kind] : 'FUNCTION_ERROR_NONE',
      errorType: outcome.error?.errorType ?? '',
      errorMessage: outcome.error?.errorMessage ?? '',
      stackTrace: outcome.error?.stackTrace ?? [],
      durationMs: outcome.durationMs,
      memoryBytes: outcome.memoryBytes,
      coldStart: outcome.coldStart,
      cpuMicros: outcome.cpuMicros ?? 0,
      streamId: 0,
      rejection: null,
      logTail: request.tailLogs
        ? await this.#logTail(request, outcome.durationMs, outcome.memoryBytes)
        : '',
    };
  }

  /** The invocation's log lines as Lambda's tail shows them, ending with a REPORT line. */
  async #logTail(request: InvokeRequest, durationMs: number, memoryBytes: number): Promise<string> {
    const lines = await this.#options.logs.query({
      namespace: request.namespace,
      sandbox: request.sandbox,
      requestId: request.requestId,
    });
    const text =
      lines
        .map(
          (l) =>
            `${new Date(l.time).toISOString()}\t${l.requestId}\t${l.level.toUpperCase()}\t${l.message}\n`,
        )
        .join('') +
      `REPORT RequestId: ${request.requestId}\tDuration: ${durationMs.toFixed(2)} ms\tMax Memory Used: ${Math.round(memoryBytes / 1024 / 1024)} MB\n`;
    const bytes = Buffer.from(text);
    return bytes.length <= LOG_TAIL_BYTES
      ? text
      : bytes.subarray(bytes.length - LOG_TAIL_BYTES).toString('utf8');
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
