// @ts-check
// The generic process one Node.js Sandbox runs in. The sidecar starts it ahead
// of need (the warm pool) under Node's permission model, with no environment
// and no function: it boots, says so, and waits. "specialize" turns it into
// one function (load its code, set its env); then it runs invocations until
// the sidecar stops it. It exits when the sidecar goes away.
//
// It is plain JavaScript, type-checked through JSDoc, because it starts for
// every warm-pool slot: Node's TypeScript stripping would load its parser on
// each start and more than double the boot time (36 ms against 97 ms).
//
// Two channels to the sidecar: Node's IPC channel for control (specialize,
// ping), and a socket pair on fd 4 carrying frames (frames.js): invocations,
// whose body is the event or the result as bytes, and the function's log
// lines, on the same socket so that an invocation's lines always arrive
// before its result (the log tail and logs by request id rely on it). An invocation
// over IPC cost a serialisation of the whole message on each side; a frame
// costs a small binary header (frame-headers.js), and the body is never re-encoded.
import { Socket } from 'node:net';
import { FrameReader, FrameWriter, MAX_FRAME_BYTES } from './frames.js';
import { INVOKE_HEADER, LOG_HEADER, REPLY_HEADER } from './frame-headers.js';
import { captureOutput, currentRequest } from './logs.js';
import { callHandler, loadHandler, safeString } from './handler.js';
import { makeContext } from './context.js';
import { decodeHttpRequest, toFunctionUrlEvent } from './function-url-event.js';

/** @typedef {import('./protocol.ts').FromRuntime} FromRuntime */
/** @typedef {import('./protocol.ts').ToRuntime} ToRuntime */
/** @typedef {import('./protocol.ts').FunctionFailure} FunctionFailure */
/** @typedef {import('./protocol.ts').InvokeFrame} InvokeFrame */
/** @typedef {import('./protocol.ts').ReplyFrame} ReplyFrame */

/** @param {FromRuntime} message */
const send = (message) => process.send?.(message);

/** The socket pair the sidecar opened for invocations (lib/process.ts: socketPair). */
const INVOCATION_FD = 4;
/** A result that fits a frame, with room for the reply's header (the sidecar refuses a larger frame). */
const MAX_RESULT_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/** @type {import('./handler.js').Handler | undefined} */
let handler;
/** This runtime's directory on the host, and the path a function's error shows instead. */
const RUNTIME_PATH = /** @type {[string, string]} */ ([import.meta.dirname, '/var/runtime']);
/**
 * Where the code and this runtime live on the host, and the paths a
 * function's error shows instead, as Lambda's do (/var/task/index.mjs): the
 * error goes back to whoever invoked the function, who has no business with
 * the host pod's layout.
 * @type {[string, string][]}
 */
let publicPaths = [RUNTIME_PATH];
/** @type {import('./context.js').FunctionIdentity | undefined} */
let identity;

// A function may signal only itself. Where the host pod gives functions a user
// id of their own the kernel refuses the rest anyway; where it cannot, the
// sidecar and its neighbours run as the same user, and the permission model
// covers neither process.kill nor the undocumented process._kill it calls, so
// both are narrowed here. Pid 0 and negative pids name process groups, which
// the sidecar shares: refused too.
/** @param {number} pid */
const refuseOthers = (pid) => {
  if (Number(pid) !== process.pid)
    throw Object.assign(new Error('signals are limited to the function itself'), {
      code: 'ERR_ACCESS_DENIED',
    });
};
const ownKill = process.kill.bind(process);
process.kill = (pid, signal) => {
  refuseOthers(pid);
  return ownKill(pid, signal);
};
const internal = /** @type {{ _kill?: (pid: number, signal: number) => number }} */ (
  /** @type {unknown} */ (process)
);
const rawKill = internal._kill?.bind(process);
if (rawKill)
  internal._kill = (pid, signal) => {
    refuseOthers(pid);
    return rawKill(pid, signal);
  };

process.on('disconnect', () => process.exit(0));
process.on('message', (/** @type {ToRuntime} */ message) => {
  switch (message.type) {
    case 'specialize':
      void specialize(message);
      break;
    case 'ping':
      send({ type: 'pong', id: message.id });
      break;
  }
});

const invocations = new Socket({ fd: INVOCATION_FD, readable: true, writable: true });
const reader = new FrameReader({
  maxFrameBytes: MAX_FRAME_BYTES,
  codecs: [INVOKE_HEADER],
  onFrame: (/** @type {InvokeFrame} */ header, /** @type {Buffer} */ body) =>
    void invoke(header, body),
});
invocations.on('data', (/** @type {Buffer} */ chunk) => {
  try {
    reader.push(chunk);
  } catch (err) {
    // The sidecar and this process are out of step: nothing more can be read.
    console.error(err);
    process.exit(70);
  }
});
invocations.on('error', () => process.exit(0));
const replies = new FrameWriter(invocations);
/** @param {ReplyFrame} reply @param {Uint8Array} [result] */
const reply = (reply, result) => replies.write(reply, result, REPLY_HEADER);

/** @param {Extract<ToRuntime, { type: 'specialize' }>} message */
async function specialize(message) {
  const started = performance.now();
  identity = {
    functionName: message.functionName,
    functionVersion: message.functionVersion,
    memoryMiB: message.memoryMiB,
  };
  for (const [name, value] of Object.entries(message.env)) process.env[name] = value;
  captureOutput((line) => replies.write(line, undefined, LOG_HEADER));
  try {
    publicPaths = [[message.codeDir, '/var/task'], RUNTIME_PATH];
    handler = await loadHandler(message.codeDir, message.handler);
    send({ type: 'specialized', loadMs: performance.now() - started });
  } catch (err) {
    send({ type: 'specialize-failed', ...failureOf(err) });
  }
}

/**
 * @param {InvokeFrame} message
 * @param {Buffer} payload
 */
async function invoke(message, payload) {
  const started = performance.now();
  if (!handler || !identity) {
    reply({
      id: message.id,
      ok: false,
      durationMs: 0,
      errorType: 'NotSpecialized',
      errorMessage: 'the runtime has no function loaded',
      stackTrace: [],
    });
    return;
  }
  /** @type {unknown} */
  let event;
  try {
    if (message.httpRequest) event = toFunctionUrlEvent(decodeHttpRequest(payload));
    else event = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
  } catch (err) {
    reply({
      id: message.id,
      ok: false,
      durationMs: 0,
      errorType: 'InvalidPayload',
      errorMessage: message.httpRequest
        ? /** @type {Error} */ (err).message
        : `the payload is not JSON: ${/** @type {Error} */ (err).message}`,
      stackTrace: [],
    });
    return;
  }
  const context = makeContext(identity, message.requestId, message.deadline);
  const fn = handler;
  try {
    const result = await currentRequest.run(message.requestId, () =>
      callHandler(fn, event, context),
    );
    const json = result === undefined ? undefined : Buffer.from(JSON.stringify(result));
    if (json && json.length > MAX_RESULT_BYTES) {
      reply({
        id: message.id,
        ok: false,
        durationMs: performance.now() - started,
        errorType: 'ResultTooLarge',
        errorMessage: `the result of ${json.length} bytes is over the limit of ${MAX_RESULT_BYTES} bytes`,
        stackTrace: [],
      });
      return;
    }
    reply(
      {
        id: message.id,
        ok: true,
        hasResult: json !== undefined,
        durationMs: performance.now() - started,
      },
      json,
    );
  } catch (err) {
    try {
      currentRequest.run(message.requestId, () => console.error(err));
    } catch {
      // What the function threw cannot even be printed (a getter that throws): its failure still answers.
    }
    reply({
      id: message.id,
      ok: false,
      durationMs: performance.now() - started,
      ...failureOf(err),
    });
  }
}

/**
 * @param {unknown} err
 * @returns {FunctionFailure}
 */
function failureOf(err) {
  try {
    return describeFailure(err);
  } catch {
    return {
      errorType: 'Error',
      errorMessage: 'the function threw a value whose fields cannot be read',
      stackTrace: [],
    };
  }
}

/**
 * @param {unknown} err
 * @returns {FunctionFailure}
 */
function describeFailure(err) {
  if (err instanceof Error) {
    const errorType = /** @type {{ errorType?: string }} */ (err).errorType ?? err.name ?? 'Error';
    return {
      errorType: safeString(errorType),
      errorMessage: publicText(safeString(err.message)),
      stackTrace: publicText(safeString(err.stack ?? ''))
        .split('\n')
        .slice(1)
        .map((line) => line.trim()),
    };
  }
  return { errorType: 'Error', errorMessage: publicText(safeString(err)), stackTrace: [] };
}

/** @param {string} text */
function publicText(text) {
  for (const [hostPath, shown] of publicPaths) text = text.replaceAll(hostPath, shown);
  return text;
}

send({ type: 'booted' });
