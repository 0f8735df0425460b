// One invocation as the sidecar serves it, whichever transport brought it
// (invocation frames from a gateway, or gRPC Invoke from a tool): find the
// plugged Sandbox, run the function, and answer in the SandboxHost contract's
// terms, with the log tail when asked.
import { status } from '@grpc/grpc-js';
import type { FunctionError, InvokeResponse, Rejection } from '../proto/sandbox-host.ts';
import type { PayloadFormat } from '../proto/invoke-frames.ts';
import { bufferView } from '../lib/bytes.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { InvokeRejected, sandboxNotFound } from './errors.ts';
import type { FunctionErrorKind } from './function-runtime.ts';
import type { LogStore } from './log-store.ts';
import type { SandboxManager } from './sandbox-manager.ts';

export interface InvocationRequest {
  namespace: string;
  sandbox: string;
  requestId: string;
  /** The event as JSON, or an HTTP request in compact form (`format`). */
  payload: Uint8Array;
  format?: PayloadFormat;
  timeoutMs: number;
  tailLogs: boolean;
}

const ERROR_KINDS: Record<FunctionErrorKind, FunctionError> = {
  unhandled: 'FUNCTION_ERROR_UNHANDLED',
  timeout: 'FUNCTION_ERROR_TIMEOUT',
  'out-of-memory': 'FUNCTION_ERROR_OUT_OF_MEMORY',
  crashed: 'FUNCTION_ERROR_CRASHED',
};

/** As much of an invocation's log as Lambda's X-Amz-Log-Result carries. */
const LOG_TAIL_BYTES = 4096;

/** Runs the invocation; throws InvokeRejected when it cannot reach the function. */
export async function runInvocation(
  manager: SandboxManager | undefined,
  logs: LogStore,
  request: InvocationRequest,
): Promise<InvokeResponse> {
  const plugged = manager?.get(request.namespace, request.sandbox);
  if (!plugged) throw sandboxNotFound(`${request.namespace}/${request.sandbox}`);
  const outcome = await plugged.invoke({
    requestId: request.requestId,
    payload: request.payload,
    format: request.format,
    timeoutMs: request.timeoutMs,
  });
  return {
    // A view, not a copy: the result's bytes go on to the frame or the gRPC message as they are.
    result: bufferView(outcome.result),
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
      ? await logTail(logs, request, outcome.durationMs, outcome.memoryBytes)
      : '',
  };
}

/**
 * Why an invocation was not run, as the answer says it: a refusal
 * (InvokeRejected: not found, not ready, draining, overloaded) reached no
 * function and may be retried elsewhere; anything else is an internal failure.
 */
export function rejectionOf(err: unknown, log: Logger): Rejection {
  const refusal = err instanceof InvokeRejected;
  if (!refusal) log.error({ err: errorMessage(err) }, 'invocation failed');
  return {
    code: refusal ? err.grpcCode : status.INTERNAL,
    message: errorMessage(err),
    notInvoked: refusal,
  };
}

/** An answer that carries only a rejection. */
export function rejectedResponse(rejection: Rejection): InvokeResponse {
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
    streamId: 0,
    rejection,
  };
}

/** The invocation's log lines as Lambda's tail shows them, ending with a REPORT line. */
async function logTail(
  logs: LogStore,
  request: InvocationRequest,
  durationMs: number,
  memoryBytes: number,
): Promise<string> {
  const lines = await logs.query({
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
