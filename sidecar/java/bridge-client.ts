// A typed gRPC client of the JVM bridge (proto/roost/v1alpha1/java_bridge.proto):
// promise-returning calls with the bearer secret attached to each, and
// failures turned into JavaBridgeCallError with the bridge's stable code.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { RoostError } from '../../lib/errors.ts';
import type { FunctionError, LogLevel } from '../../proto/sandbox-host.ts';

export type { FunctionError, LogLevel };

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

export interface LoadRequest {
  /** "namespace/name" of the Sandbox. */
  sandboxId: string;
  /** Absolute path of the function's jar. */
  jarPath: string;
  /** `com.example.Hello::handleRequest` or `com.example.Hello`. */
  handler: string;
  functionName?: string;
  functionVersion?: string;
  memoryMib?: number;
  timeoutMs?: number;
  concurrency?: number;
  /** Exactly what System.getenv shows the function. */
  env?: Record<string, string>;
}

export interface LoadResponse {
  loadMs: number;
}

export interface UnloadRequest {
  sandboxId: string;
  graceMs?: number;
}

export interface UnloadResponse {
  /** Threads the function left running, which unloading stopped. */
  stoppedThreads: string[];
}

export interface InvokeRequest {
  sandboxId: string;
  requestId: string;
  /** The event as JSON. */
  payload: Uint8Array;
  /** 0 or absent: the timeout given at Load. */
  timeoutMs?: number;
}

export interface InvokeResponse {
  /** The handler's result as JSON; empty for a void handler. */
  result: Buffer;
  error: FunctionError;
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
  durationMs: number;
  /** For Java: bytes the invoking thread allocated. */
  memoryBytes: number;
  coldStart: boolean;
  cpuMicros: number;
}

export interface LogEntry {
  namespace: string;
  sandbox: string;
  timeMs: number;
  level: LogLevel;
  requestId: string;
  message: string;
  /** stdout, stderr, or console (the LambdaLogger). */
  stream: string;
  deployment: string;
}

export interface SandboxFailure {
  sandboxId: string;
  /** OOMKilled, Stuck or Error. */
  reason: string;
  message: string;
}

export type BridgeEvent =
  | { event: 'log'; log: LogEntry; failure?: undefined }
  | { event: 'failure'; failure: SandboxFailure; log?: undefined };

export interface BridgeStats {
  heapUsedBytes: number;
  metaspaceUsedBytes: number;
  loadedSandboxes: number;
  loadedClasses: number;
  unloadedClasses: number;
  /** Loaders of unloaded Sandboxes not yet collected; 0 after a full GC unless something leaks. */
  uncollectedLoaders: number;
  droppedEvents: number;
}

export interface BridgeHealth {
  serving: boolean;
  pod: string;
  sandboxes: number;
  runtimes: string[];
}

/**
 * A bridge call that failed before a function ran. `code` is the bridge's
 * stable name (ROOST_JAVA_CLASS_NOT_FOUND, ROOST_JAVA_QUEUE_FULL, ...), or
 * ROOST_JAVA_BRIDGE_CALL when the call did not reach it; `grpcCode` is the
 * gRPC status.
 */
export class JavaBridgeCallError extends RoostError {
  readonly grpcCode: grpc.status;
  /** The bridge's own message, without the call and status this error's message adds. */
  readonly details: string;
  constructor(method: string, err: grpc.ServiceError) {
    const code = err.metadata?.get('roost-error-code')[0];
    super(
      typeof code === 'string' ? code : 'ROOST_JAVA_BRIDGE_CALL',
      `JavaBridge.${method} failed (${grpc.status[err.code]}): ${err.details || err.message}`,
      { cause: err },
    );
    this.grpcCode = err.code;
    this.details = err.details || err.message;
  }
}

export interface CallOptions {
  /** Fails the call DEADLINE_EXCEEDED after this long. */
  deadlineMs?: number;
}

type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

interface RawClient extends grpc.Client {
  events(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<BridgeEvent>;
}

let definition: grpc.GrpcObject | undefined;

function bridgeService(): grpc.ServiceClientConstructor {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('roost/v1alpha1/java_bridge.proto', {
      includeDirs: [PROTO_ROOT],
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  );
  const v1alpha1 = (definition.roost as grpc.GrpcObject).v1alpha1 as grpc.GrpcObject;
  return v1alpha1.JavaBridge as grpc.ServiceClientConstructor;
}

/** One channel to one bridge; survives the bridge's restarts on the same target. */
export class JavaBridgeClient {
  readonly target: string;
  readonly #raw: RawClient;
  readonly #secret: string | (() => string);

  /**
   * `target`: unix:/path/to.sock or 127.0.0.1:port, as the bridge's ready
   * line says. `secret` is read at every call when it is a function: a bridge
   * run as a container of its own makes a new one each time it restarts.
   */
  constructor(target: string, secret: string | (() => string)) {
    this.target = target;
    this.#secret = secret;
    const Service = bridgeService();
    this.#raw = new Service(target, grpc.credentials.createInsecure()) as unknown as RawClient;
  }

  load(request: LoadRequest, options?: CallOptions): Promise<LoadResponse> {
    return this.#unary('load', request, options);
  }

  unload(request: UnloadRequest, options?: CallOptions): Promise<UnloadResponse> {
    return this.#unary('unload', request, options);
  }

  /** Resolves once the function has run (or timed out, or failed); rejects if it could not run. */
  invoke(request: InvokeRequest, options?: CallOptions): Promise<InvokeResponse> {
    return this.#unary('invoke', request, options);
  }

  stats(options?: CallOptions): Promise<BridgeStats> {
    return this.#unary('stats', {}, options);
  }

  health(options?: CallOptions): Promise<BridgeHealth> {
    return this.#unary('health', {}, options);
  }

  /**
   * Function output and failures for as long as the stream is open. It ends
   * when the bridge stops or restarts: open a new one after a restart. Cancel
   * it with `stream.cancel()`.
   */
  events(): grpc.ClientReadableStream<BridgeEvent> {
    return this.#raw.events({}, this.#metadata());
  }

  /** Resolves when the channel is connected, or rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): void {
    this.#raw.close();
  }

  #metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    const secret = typeof this.#secret === 'function' ? this.#secret() : this.#secret;
    metadata.set('authorization', `Bearer ${secret}`);
    return metadata;
  }

  #unary<T>(method: string, request: object, options: CallOptions = {}): Promise<T> {
    const call = (this.#raw as unknown as Record<string, Unary>)[method]!.bind(this.#raw);
    const callOptions: grpc.CallOptions = {};
    if (options.deadlineMs !== undefined) callOptions.deadline = Date.now() + options.deadlineMs;
    return new Promise((resolve, reject) => {
      call(request, this.#metadata(), callOptions, (err, response) => {
        if (err) reject(new JavaBridgeCallError(method, err));
        else resolve(response as T);
      });
    });
  }
}
