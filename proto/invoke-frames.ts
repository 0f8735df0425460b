// The invocation transport between a gateway and a sidecar: frames
// (runtime-node/frames.js) on a TCP connection to the sidecar's one port,
// beside gRPC, which keeps Logs, Stats, Health and the unary Invoke for tools.
// A connection opens with INVOKE_PREFACE (the sidecar tells it from HTTP/2's
// "PRI * HTTP/2.0" by its first bytes) and a hello frame with the invoke
// token; then any number of invocations are multiplexed on it by id, and
// answered in the order they finish.
//
// It exists because a message on a grpc-js stream costs protobuf encoding and
// HTTP/2 framing in JavaScript on both sides; a frame is a JSON header and the
// event's bytes as they are (see BENCHMARKS.md, bench:invoke).
import { MAX_FRAME_BYTES } from '../runtime-node/frames.js';
import type { InvokeResponse } from './sandbox-host.ts';

/** The first bytes a gateway sends on an invocation connection. */
export const INVOKE_PREFACE = Buffer.from('ROOSTIV1');

/** The largest frame either side accepts (a body within any function's limit fits). */
export const MAX_INVOKE_FRAME_BYTES = MAX_FRAME_BYTES;

/** First frame from the gateway. */
export interface HelloFrame {
  type: 'hello';
  token: string;
}

/** One invocation; its body is the event (JSON bytes). */
export interface InvokeFrame {
  /** Chosen by the gateway, unique on its connection; echoed in the answer. */
  id: number;
  namespace: string;
  sandbox: string;
  requestId: string;
  timeoutMs: number;
  tailLogs?: boolean;
}

/** The answer to InvokeFrame `id`; its body is the result. */
export type ResultFrame = { id: number } & Omit<InvokeResponse, 'result' | 'streamId'>;

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
