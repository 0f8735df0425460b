// A typed gRPC client of the JVM bridge (proto/roost/v1alpha1/java_bridge.proto):
// promise-returning calls with the bearer secret attached to each, and
// failures turned into JavaBridgeCallError with the bridge's stable code.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { bufferView } from '../../lib/bytes.ts';
import { RoostError } from '../../lib/errors.ts';
import { FrameChannel } from '../../gateway/frame-channel.ts';
import {
  ChannelBroken,
  ChannelTimeout,
  InvocationRejected,
} from '../../gateway/invocation-channel.ts';
import type { FunctionError, LogLevel } from '../../proto/sandbox-host.ts';
// The message types, generated from java_bridge.proto (npm run generate:proto).
// Requests are the generator's input form (optional fields); what comes back
// is its "__Output" form, every field present.
import type { LoadRequest } from '../../proto/generated/roost/v1alpha1/LoadRequest.ts';
import type { LoadResponse__Output as LoadResponse } from '../../proto/generated/roost/v1alpha1/LoadResponse.ts';
import type { UnloadRequest } from '../../proto/generated/roost/v1alpha1/UnloadRequest.ts';
import type { UnloadResponse__Output as UnloadResponse } from '../../proto/generated/roost/v1alpha1/UnloadResponse.ts';
import type { BridgeInvokeRequest as InvokeRequest } from '../../proto/generated/roost/v1alpha1/BridgeInvokeRequest.ts';
import type { InvokeResponse__Output as InvokeResponse } from '../../proto/generated/roost/v1alpha1/InvokeResponse.ts';
import type { LogEntry__Output as LogEntry } from '../../proto/generated/roost/v1alpha1/LogEntry.ts';
import type { SandboxFailure__Output as SandboxFailure } from '../../proto/generated/roost/v1alpha1/SandboxFailure.ts';
import type { BridgeStatsResponse__Output as BridgeStats } from '../../proto/generated/roost/v1alpha1/BridgeStatsResponse.ts';
import type { HealthResponse__Output as BridgeHealth } from '../../proto/generated/roost/v1alpha1/HealthResponse.ts';

export type {
  FunctionError,
  LogLevel,
  LoadRequest,
  LoadResponse,
  UnloadRequest,
  UnloadResponse,
  InvokeRequest,
  InvokeResponse,
  LogEntry,
  SandboxFailure,
  BridgeStats,
  BridgeHealth,
};

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

/** One event of the Events stream: a line a function logged, or a Sandbox the bridge gave up on. */
export type BridgeEvent =
  | { event: 'log'; log: LogEntry; failure?: undefined }
  | { event: 'failure'; failure: SandboxFailure; log?: undefined };

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
  constructor(
    method: string,
    failure: { grpcCode: grpc.status; details: string; code?: string; cause: Error },
  ) {
    super(
      failure.code ?? 'ROOST_JAVA_BRIDGE_CALL',
      `JavaBridge.${method} failed (${grpc.status[failure.grpcCode]}): ${failure.details}`,
      { cause: failure.cause },
    );
    this.grpcCode = failure.grpcCode;
    this.details = failure.details;
  }

  /** A failed gRPC call, its stable code read from the bridge's trailer. */
  static fromServiceError(method: string, err: grpc.ServiceError): JavaBridgeCallError {
    const code = err.metadata?.get('roost-error-code')[0];
    return new JavaBridgeCallError(method, {
      grpcCode: err.code,
      details: err.details || err.message,
      code: typeof code === 'string' ? code : undefined,
      cause: err,
    });
  }

  /** A failed frame invocation, as the gRPC call's failure would have been, so callers see one kind of error. */
  static fromFrameError(err: unknown): JavaBridgeCallError {
    const cause = err as Error;
    const [grpcCode, code] =
      err instanceof InvocationRejected
        ? [err.grpcCode as grpc.status, err.errorCode]
        : err instanceof ChannelTimeout
          ? [grpc.status.DEADLINE_EXCEEDED, undefined]
          : err instanceof ChannelBroken
            ? [grpc.status.UNAVAILABLE, undefined]
            : [grpc.status.INTERNAL, undefined];
    return new JavaBridgeCallError('invoke', { grpcCode, details: cause.message, code, cause });
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

/** The bridge's frame limit (InvokeFrameServer.MAX_FRAME_BYTES): its gRPC message limit and a header. */
const BRIDGE_MAX_FRAME_BYTES = 16 * 1024 * 1024 + 64 * 1024;
/** After the invocation socket could not be reached, Invoke goes over gRPC for this long. */
const FRAMES_RETRY_AFTER_MS = 5_000;

/**
 * One channel to one bridge; survives the bridge's restarts on the same
 * target. Invocations go in frames on the bridge's own invocation socket
 * (`<socket>.invoke`, InvokeFrameServer) where it serves one: a unary gRPC
 * call cost the sidecar about 150 µs of CPU per invocation in grpc-js. A
 * bridge without that socket (on loopback TCP, or an older bridge image) is
 * invoked over gRPC, as is any invocation whose frame connection could not
 * be opened: nothing was sent on it, so nothing ran.
 */
export class JavaBridgeClient {
  readonly target: string;
  readonly #raw: RawClient;
  readonly #secret: string | (() => string);
  readonly #frames: FrameChannel | undefined;
  #framesDownUntil = 0;

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
    if (target.startsWith('unix:'))
      this.#frames = new FrameChannel(`${target}.invoke`, () => this.#secretNow(), {
        preface: false,
        maxFrameBytes: BRIDGE_MAX_FRAME_BYTES,
        binaryHeaders: true,
      });
  }

  load(request: LoadRequest, options?: CallOptions): Promise<LoadResponse> {
    return this.#unary('load', request, options);
  }

  unload(request: UnloadRequest, options?: CallOptions): Promise<UnloadResponse> {
    return this.#unary('unload', request, options);
  }

  /** Resolves once the function has run (or timed out, or failed); rejects if it could not run. */
  invoke(request: InvokeRequest, options: CallOptions = {}): Promise<InvokeResponse> {
    if (!this.#frames || Date.now() < this.#framesDownUntil)
      return this.#unary('invoke', request, options);
    const invocation = {
      namespace: '',
      sandbox: request.sandboxId ?? '',
      requestId: request.requestId ?? '',
      payload:
        typeof request.payload === 'string'
          ? Buffer.from(request.payload, 'base64')
          : bufferView(request.payload),
      timeoutMs: request.timeoutMs ?? 0,
      tailLogs: false,
      metadata: {},
    };
    // No deadline given: the gRPC call would wait as long; a frame waits a day.
    const deadlineMs = options.deadlineMs ?? 86_400_000;
    return this.#frames.invoke(invocation, deadlineMs).catch((err: unknown) => {
      if (err instanceof ChannelBroken && err.notInvoked) {
        this.#framesDownUntil = Date.now() + FRAMES_RETRY_AFTER_MS;
        return this.#unary<InvokeResponse>('invoke', request, options);
      }
      throw JavaBridgeCallError.fromFrameError(err);
    });
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
    this.#frames?.close();
    this.#raw.close();
  }

  #secretNow(): string {
    return typeof this.#secret === 'function' ? this.#secret() : this.#secret;
  }

  #metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.#secretNow()}`);
    return metadata;
  }

  #unary<T>(method: string, request: object, options: CallOptions = {}): Promise<T> {
    const call = (this.#raw as unknown as Record<string, Unary>)[method]!.bind(this.#raw);
    const callOptions: grpc.CallOptions = {};
    if (options.deadlineMs !== undefined) callOptions.deadline = Date.now() + options.deadlineMs;
    return new Promise((resolve, reject) => {
      call(request, this.#metadata(), callOptions, (err, response) => {
        if (err) reject(JavaBridgeCallError.fromServiceError(method, err));
        else resolve(response as T);
      });
    });
  }
}
