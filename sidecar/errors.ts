// Why a Sandbox could not be plugged or an invocation could not run. Each
// error names a Sandbox status reason (what `kubectl get sbx -o wide` shows)
// or a gRPC status for callers.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { RoostError } from '../lib/errors.ts';

/** Plugging failed; `reason` goes to status.reason and the CodeReady or Ready condition. */
export class PlugError extends RoostError {
  readonly reason: string;
  /** False when retrying cannot help until the spec changes (a digest mismatch, a syntax error). */
  readonly retryable: boolean;

  constructor(reason: string, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(`ROOST_SIDECAR_${reason.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`, message, {
      cause: options.cause,
    });
    this.reason = reason;
    this.retryable = options.retryable;
  }
}

export const codeFetchFailed = (message: string, cause?: unknown) =>
  new PlugError('CodeFetchFailed', message, { retryable: true, cause });
export const codeDigestMismatch = (message: string) =>
  new PlugError('CodeDigestMismatch', message, { retryable: false });
export const codeInvalid = (message: string, cause?: unknown) =>
  new PlugError('CodeInvalid', message, { retryable: false, cause });
export const functionLoadFailed = (message: string) =>
  new PlugError('FunctionLoadFailed', message, { retryable: false });
export const runtimeUnavailable = (message: string) =>
  new PlugError('RuntimeUnavailable', message, { retryable: true });

/** An invocation that never reached the function; `grpcCode` tells the caller whether to retry elsewhere. */
export class InvokeRejected extends RoostError {
  readonly grpcCode: GrpcStatus;
  constructor(code: string, grpcCode: GrpcStatus, message: string) {
    super(code, message);
    this.grpcCode = grpcCode;
  }
}

export const sandboxNotFound = (key: string) =>
  new InvokeRejected(
    'ROOST_SANDBOX_NOT_FOUND',
    GrpcStatus.NOT_FOUND,
    `Sandbox ${key} is not plugged into this host pod`,
  );
export const sandboxNotReady = (key: string, why: string) =>
  new InvokeRejected(
    'ROOST_SANDBOX_NOT_READY',
    GrpcStatus.FAILED_PRECONDITION,
    `Sandbox ${key} is not ready: ${why}`,
  );
export const sandboxDraining = (key: string) =>
  new InvokeRejected(
    'ROOST_SANDBOX_DRAINING',
    GrpcStatus.UNAVAILABLE,
    `Sandbox ${key} is being deleted and takes no new invocations`,
  );
export const sandboxOverloaded = (key: string, inFlight: number, queued: number) =>
  new InvokeRejected(
    'ROOST_SANDBOX_OVERLOADED',
    GrpcStatus.RESOURCE_EXHAUSTED,
    `Sandbox ${key} is overloaded: ${inFlight} invocations in flight and ${queued} queued`,
  );
export const invalidPayload = (message: string) =>
  new InvokeRejected('ROOST_INVALID_PAYLOAD', GrpcStatus.INVALID_ARGUMENT, message);
