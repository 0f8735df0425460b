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
import { captureOutput, currentRequest } from './logs.js';
import { callHandler, loadHandler } from './handler.js';
import { makeContext } from './context.js';

/** @typedef {import('./protocol.ts').FromRuntime} FromRuntime */
/** @typedef {import('./protocol.ts').ToRuntime} ToRuntime */
/** @typedef {import('./protocol.ts').FunctionFailure} FunctionFailure */

/** @param {FromRuntime} message */
const send = (message) => process.send?.(message);

/** @type {import('./handler.js').Handler | undefined} */
let handler;
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
    case 'invoke':
      void invoke(message);
      break;
    case 'ping':
      send({ type: 'pong', id: message.id });
      break;
  }
});

/** @param {Extract<ToRuntime, { type: 'specialize' }>} message */
async function specialize(message) {
  const started = performance.now();
  identity = {
    functionName: message.functionName,
    functionVersion: message.functionVersion,
    memoryMiB: message.memoryMiB,
  };
  for (const [name, value] of Object.entries(message.env)) process.env[name] = value;
  captureOutput(send);
  try {
    handler = await loadHandler(message.codeDir, message.handler);
    send({ type: 'specialized', loadMs: performance.now() - started });
  } catch (err) {
    send({ type: 'specialize-failed', ...failureOf(err) });
  }
}

/** @param {Extract<ToRuntime, { type: 'invoke' }>} message */
async function invoke(message) {
  const started = performance.now();
  if (!handler || !identity) {
    send({
      type: 'error',
      id: message.id,
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
    const text = Buffer.from(message.payload).toString('utf8');
    event = text === '' ? {} : JSON.parse(text);
  } catch (err) {
    send({
      type: 'error',
      id: message.id,
      durationMs: 0,
      errorType: 'InvalidPayload',
      errorMessage: `the payload is not JSON: ${/** @type {Error} */ (err).message}`,
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
    const json = result === undefined ? undefined : JSON.stringify(result);
    send({
      type: 'result',
      id: message.id,
      result: json === undefined ? undefined : Buffer.from(json),
      durationMs: performance.now() - started,
    });
  } catch (err) {
    currentRequest.run(message.requestId, () => console.error(err));
    send({
      type: 'error',
      id: message.id,
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
  if (err instanceof Error) {
    const errorType = /** @type {{ errorType?: string }} */ (err).errorType ?? err.name ?? 'Error';
    return {
      errorType,
      errorMessage: err.message,
      stackTrace: (err.stack ?? '')
        .split('\n')
        .slice(1)
        .map((line) => line.trim()),
    };
  }
  return { errorType: 'Error', errorMessage: String(err), stackTrace: [] };
}

send({ type: 'booted' });
