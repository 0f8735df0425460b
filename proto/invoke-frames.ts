// The invocation transport between a gateway and a sidecar: frames
// (runtime-node/frames.js) on a TCP connection to the sidecar's one port,
// beside gRPC, which keeps Logs, Stats, Health and the unary Invoke for tools.
// A connection opens with INVOKE_PREFACE (the sidecar tells it from HTTP/2's
// "PRI * HTTP/2.0" by its first bytes) and a hello frame with the invoke
// token; then any number of invocations are multiplexed on it by id, and
// answered in the order they finish.
//
// It exists because a message on a grpc-js stream costs protobuf encoding and
// HTTP/2 framing in JavaScript on both sides; a frame is a small header and
// the event's bytes as they are (see BENCHMARKS.md, bench:invoke). Headers
// are JSON until the sidecar's welcome says it reads binary ones (below).
import { HeaderCodec, MAX_FRAME_BYTES } from '../runtime-node/frames.js';
import type { InvokeResponse, Rejection } from './sandbox-host.ts';

/** The first bytes a gateway sends on an invocation connection. */
export const INVOKE_PREFACE = Buffer.from('ROOSTIV1');

/** The largest frame either side accepts (a body within any function's limit fits). */
export const MAX_INVOKE_FRAME_BYTES = MAX_FRAME_BYTES;

/** First frame from the gateway. */
export interface HelloFrame {
  type: 'hello';
  token: string;
  /** The gateway reads binary answers (RESULT_HEADER) and would send INVOKE_HEADER once welcomed. */
  binaryHeaders?: boolean;
}

/**
 * What an invocation's body holds: the event as JSON, or an HTTP request in
 * the compact form of runtime-node/function-url-event.js, from which the
 * function's side builds the function URL event.
 */
export type PayloadFormat = 'json' | 'http-request';

/** One invocation; its body is the payload. */
export interface InvokeFrame {
  /** Chosen by the gateway, unique on its connection; echoed in the answer. */
  id: number;
  namespace: string;
  sandbox: string;
  requestId: string;
  timeoutMs: number;
  tailLogs?: boolean;
  /** Absent: 'json'. A gateway sends 'http-request' only on a connection the sidecar welcomed. */
  format?: PayloadFormat;
}

/** The answer to InvokeFrame `id`; its body is the result. */
export type ResultFrame = { id: number } & Omit<
  InvokeResponse,
  'result' | 'streamId' | 'rejection'
> & {
    /** The JVM bridge's refusals also carry its error code (ROOST_JAVA_...). */
    rejection: (Rejection & { errorCode?: string }) | null;
  };

/**
 * The sidecar refuses the connection (a bad token, a frame it cannot read):
 * sent once, then it closes. Whatever was sent on the connection before it
 * was refused did not run.
 */
export interface RefusedFrame {
  type: 'refused';
  /** A gRPC status code, as in Rejection. */
  code: number;
  message: string;
}

/**
 * The sidecar's answer to a hello that offered binary headers: from now on
 * the gateway may send invocations with INVOKE_HEADER. A sidecar that does
 * not know binary headers never sends it, and the gateway keeps to JSON, so
 * gateways and sidecars of different versions still talk during an upgrade.
 */
export interface WelcomeFrame {
  type: 'welcome';
  binaryHeaders: boolean;
}

/** An invocation's header in binary (frames.js: HeaderCodec). */
export const INVOKE_HEADER = new HeaderCodec<InvokeFrame>(
  1,
  (frame, w) => {
    w.f64(frame.id);
    w.str(frame.namespace);
    w.str(frame.sandbox);
    w.str(frame.requestId);
    w.f64(frame.timeoutMs);
    w.bool(frame.tailLogs === true);
    w.bool(frame.format === 'http-request');
  },
  (r) => ({
    id: r.f64('id'),
    namespace: r.str('namespace'),
    sandbox: r.str('sandbox'),
    requestId: r.str('requestId'),
    timeoutMs: r.f64('timeoutMs'),
    tailLogs: r.bool('tailLogs'),
    format: r.bool('format') ? 'http-request' : 'json',
  }),
);

/** An answer's header in binary, to a gateway whose hello offered it. */
export const RESULT_HEADER = new HeaderCodec<ResultFrame>(
  2,
  (frame, w) => {
    w.f64(frame.id);
    w.str(frame.error);
    w.str(frame.errorType);
    w.str(frame.errorMessage);
    w.strs(frame.stackTrace);
    w.f64(frame.durationMs);
    w.f64(frame.memoryBytes);
    w.bool(frame.coldStart);
    w.f64(frame.cpuMicros);
    w.str(frame.logTail);
    const rejection = frame.rejection;
    w.bool(rejection != null);
    if (rejection == null) return;
    w.f64(rejection.code);
    w.str(rejection.message);
    w.bool(rejection.notInvoked);
    w.optionalStr(rejection.errorCode);
  },
  (r) => ({
    id: r.f64('id'),
    error: r.str('error') as ResultFrame['error'],
    errorType: r.str('errorType'),
    errorMessage: r.str('errorMessage'),
    stackTrace: r.strs('stackTrace'),
    durationMs: r.f64('durationMs'),
    memoryBytes: r.f64('memoryBytes'),
    coldStart: r.bool('coldStart'),
    cpuMicros: r.f64('cpuMicros'),
    logTail: r.str('logTail'),
    rejection: r.bool('rejection')
      ? {
          code: r.f64('rejection.code'),
          message: r.str('rejection.message'),
          notInvoked: r.bool('rejection.notInvoked'),
          errorCode: r.optionalStr('rejection.errorCode'),
        }
      : null,
  }),
);
