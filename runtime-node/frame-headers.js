// @ts-check
// The binary headers of the frames between the sidecar and a function
// process (frames.js: HeaderCodec): an invocation, its reply, and a line the
// function printed. Both ends ship together, so this hop has no JSON to fall
// back to; the sidecar still checks every header a function process sends
// (sidecar/node/runtime-messages.ts), since the function shares that process.
import { HeaderCodec } from './frames.js';

/** @typedef {import('./protocol.ts').InvokeFrame} InvokeFrame */
/** @typedef {import('./protocol.ts').ReplyFrame} ReplyFrame */
/** @typedef {import('./protocol.ts').LogFrame} LogFrame */

/** Sidecar to runtime: one invocation; the body is the event. */
export const INVOKE_HEADER = new HeaderCodec(
  3,
  (/** @type {InvokeFrame} */ frame, w) => {
    w.f64(frame.id);
    w.str(frame.requestId);
    w.f64(frame.deadline);
    w.bool(frame.httpRequest);
  },
  (r) =>
    /** @type {InvokeFrame} */ ({
      id: r.f64('id'),
      requestId: r.str('requestId'),
      deadline: r.f64('deadline'),
      httpRequest: r.bool('httpRequest'),
    }),
);

/** Runtime to sidecar: the reply to an invocation; the body is the result, if it has one. */
export const REPLY_HEADER = new HeaderCodec(
  4,
  (/** @type {ReplyFrame} */ frame, w) => {
    w.f64(frame.id);
    w.bool(frame.ok);
    w.f64(frame.durationMs);
    if (frame.ok) {
      w.bool(frame.hasResult);
      return;
    }
    w.str(frame.errorType);
    w.str(frame.errorMessage);
    w.strs(frame.stackTrace);
  },
  (r) => {
    const id = r.f64('id');
    const ok = r.bool('ok');
    const durationMs = r.f64('durationMs');
    if (ok)
      return /** @type {ReplyFrame} */ ({ id, ok, durationMs, hasResult: r.bool('hasResult') });
    return /** @type {ReplyFrame} */ ({
      id,
      ok,
      durationMs,
      errorType: r.str('errorType'),
      errorMessage: r.str('errorMessage'),
      stackTrace: r.strs('stackTrace'),
    });
  },
);

/** Runtime to sidecar: a line the function printed, sent before the reply of its invocation. */
export const LOG_HEADER = new HeaderCodec(
  5,
  (/** @type {LogFrame} */ frame, w) => {
    w.f64(frame.time);
    w.str(frame.level);
    w.str(frame.requestId);
    w.str(frame.message);
    w.str(frame.stream);
  },
  (r) =>
    /** @type {LogFrame} */ ({
      type: 'log',
      time: r.f64('time'),
      level: /** @type {LogFrame['level']} */ (r.str('level')),
      requestId: r.str('requestId'),
      message: r.str('message'),
      stream: /** @type {LogFrame['stream']} */ (r.str('stream')),
    }),
);
