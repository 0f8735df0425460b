// What the bridge's answers mean to the sidecar: an InvokeResponse becomes an
// InvokeOutcome with the same contract as a Node function's (a timeout, a
// crash, running out of memory are function errors the caller sees in the
// response), and a call the bridge refused becomes the sidecar's own refusal
// (InvokeRejected), so that callers know the function never ran.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { InvokeRejected, sandboxNotReady } from '../errors.ts';
import type { Termination } from '../../kube/api/roost.ts';
import type { FunctionErrorKind, InvokeInput, InvokeOutcome } from '../function-runtime.ts';
import type { FunctionError, InvokeResponse, JavaBridgeCallError } from './bridge-client.ts';

/** What the bridge throws, in the function's place, where the function called System.exit, Runtime.exit or Runtime.halt. */
const SYSTEM_EXIT_ERROR = 'dev.roost.bridge.guest.SystemExitError';
const EXIT_CALL = /^((?:System|Runtime)\.(?:exit|halt))\((-?\d+)\) was called/;

const KINDS: Record<Exclude<FunctionError, 'FUNCTION_ERROR_NONE'>, FunctionErrorKind> = {
  FUNCTION_ERROR_UNHANDLED: 'unhandled',
  FUNCTION_ERROR_TIMEOUT: 'timeout',
  FUNCTION_ERROR_OUT_OF_MEMORY: 'out-of-memory',
  FUNCTION_ERROR_CRASHED: 'crashed',
};

/** The function asked to end its process: which call, and with what status. */
export interface ExitCall {
  call: string;
  status: number;
}

export function exitCallOf(response: InvokeResponse): ExitCall | undefined {
  if (response.error !== 'FUNCTION_ERROR_UNHANDLED' || response.errorType !== SYSTEM_EXIT_ERROR)
    return undefined;
  const match = EXIT_CALL.exec(response.errorMessage);
  return match ? { call: match[1]!, status: Number(match[2]) } : { call: 'System.exit', status: 0 };
}

/** Why a function's load ended; reason and message always said. */
export type Ended = Omit<Termination, 'finishedAt'> & { reason: string; message: string };

/**
 * Whether an answer means the function's load is spoilt and must be loaded
 * afresh: it called System.exit (a crash, which backs off when repeated), or
 * it timed out, so its thread was interrupted and perhaps hard-stopped
 * mid-change (reloaded at once: a slow dependency must not make it
 * unavailable). An OutOfMemoryError is not here: the bridge's OOMKilled
 * SandboxFailure follows it.
 */
export function spoiltBy(
  response: InvokeResponse,
  input: Pick<InvokeInput, 'requestId' | 'timeoutMs'>,
): { ended: Ended; backoff: boolean } | undefined {
  const exit = exitCallOf(response);
  if (exit) {
    return {
      ended: {
        reason: 'Error',
        message: `the function called ${exit.call}(${exit.status}) in invocation ${input.requestId}; Java functions share one JVM, so it was loaded afresh instead of exiting`,
        exitCode: exit.status,
      },
      backoff: true,
    };
  }
  if (response.error === 'FUNCTION_ERROR_TIMEOUT') {
    return {
      ended: {
        reason: 'Timeout',
        message: `invocation ${input.requestId} ran past its timeout of ${input.timeoutMs} ms; its thread was stopped, so the function was loaded afresh`,
      },
      backoff: false,
    };
  }
  return undefined;
}

/**
 * The outcome of an invocation that reached the function. A call to
 * System.exit reads as it does for a Node function that calls process.exit: a
 * crash (Runtime.ExitError, Lambda's name for it); a timeout carries Lambda's
 * message.
 */
export function outcomeOf(response: InvokeResponse, timeoutMs: number): InvokeOutcome {
  const measured = {
    durationMs: response.durationMs,
    // For Java the bridge measures what the invoking thread allocated, not a resident size.
    memoryBytes: response.memoryBytes,
    allocatedBytes: response.memoryBytes,
    cpuMicros: response.cpuMicros,
    coldStart: response.coldStart,
  };
  if (response.error === 'FUNCTION_ERROR_NONE')
    return response.result.length > 0 ? { ...measured, result: response.result } : measured;
  const exit = exitCallOf(response);
  if (exit) {
    return {
      ...measured,
      error: {
        kind: 'crashed',
        errorType: 'Runtime.ExitError',
        errorMessage: `${exit.call}(${exit.status}) was called: the function was loaded afresh for the next invocation, as if its process had exited`,
        stackTrace: response.stackTrace,
      },
    };
  }
  if (response.error === 'FUNCTION_ERROR_TIMEOUT') return { ...timedOut(timeoutMs), ...measured };
  return {
    ...measured,
    error: {
      kind: KINDS[response.error],
      errorType: response.errorType,
      errorMessage: response.errorMessage,
      stackTrace: response.stackTrace,
    },
  };
}

/** A timeout, worded as Lambda and the Node runtime word it. */
export function timedOut(timeoutMs: number): InvokeOutcome {
  return {
    durationMs: timeoutMs,
    memoryBytes: 0,
    coldStart: false,
    error: {
      kind: 'timeout',
      errorType: 'Timeout',
      errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
      stackTrace: [],
    },
  };
}

/** The bridge died or went away while the invocation ran: the function may have run, and cannot answer. */
export function bridgeLost(why: string): InvokeOutcome {
  return {
    durationMs: 0,
    memoryBytes: 0,
    coldStart: false,
    error: {
      kind: 'crashed',
      errorType: 'Runtime.BridgeExited',
      errorMessage: `the JVM bridge of this host pod stopped answering during the invocation (${why}); it is being restarted`,
      stackTrace: [],
    },
  };
}

/**
 * The sidecar's refusal for a call the bridge refused before the function
 * ran, or undefined when the failure is not a refusal (the bridge died, or
 * did not answer in time).
 */
export function refusalOf(key: string, err: JavaBridgeCallError): InvokeRejected | undefined {
  switch (err.grpcCode) {
    case GrpcStatus.NOT_FOUND:
      return sandboxNotReady(key, `the JVM bridge has no function loaded for it (${err.details})`);
    case GrpcStatus.FAILED_PRECONDITION:
      return sandboxNotReady(key, err.details);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new InvokeRejected(
        'ROOST_SANDBOX_OVERLOADED',
        GrpcStatus.RESOURCE_EXHAUSTED,
        `Sandbox ${key} is overloaded: ${err.details}`,
      );
    case GrpcStatus.INVALID_ARGUMENT:
      return new InvokeRejected('ROOST_INVALID_PAYLOAD', GrpcStatus.INVALID_ARGUMENT, err.details);
    default:
      return undefined;
  }
}
