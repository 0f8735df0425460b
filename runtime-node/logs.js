// @ts-check
// Sends everything the function prints to the sidecar as log lines tagged with
// the request id of the invocation that printed it. AsyncLocalStorage carries
// the request id through awaits, so concurrent invocations never mix.
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';

/** @typedef {import('./protocol.ts').LogFrame} LogFrame */
/** @typedef {import('./protocol.ts').LogLevelName} LogLevelName */

/** @type {AsyncLocalStorage<string>} */
export const currentRequest = new AsyncLocalStorage();

/** @param {(message: LogFrame) => void} send */
export function captureOutput(send) {
  /**
   * @param {LogLevelName} level
   * @param {'stdout' | 'stderr' | 'console'} stream
   * @param {string} message
   */
  const emit = (level, stream, message) => {
    send({
      type: 'log',
      time: Date.now(),
      level,
      requestId: currentRequest.getStore() ?? '',
      message,
      stream,
    });
  };
  /** @type {[string, LogLevelName][]} */
  const consoleLevels = [
    ['log', 'info'],
    ['info', 'info'],
    ['debug', 'debug'],
    ['trace', 'trace'],
    ['warn', 'warn'],
    ['error', 'error'],
  ];
  for (const [method, level] of consoleLevels) {
    /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (console))[method] = (
      /** @type {unknown[]} */ ...args
    ) => emit(level, 'console', format(...args));
  }
  for (const [stream, level] of /** @type {const} */ ([
    ['stdout', 'info'],
    ['stderr', 'error'],
  ])) {
    const target = process[stream];
    target.write = /** @type {typeof target.write} */ (
      /** @type {unknown} */ (
        /**
         * @param {string | Uint8Array} chunk
         * @param {unknown} [encoding]
         * @param {unknown} [callback]
         */
        (chunk, encoding, callback) => {
          const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
          for (const line of text.replace(/\n$/, '').split('\n')) emit(level, stream, line);
          const done = typeof encoding === 'function' ? encoding : callback;
          if (typeof done === 'function') queueMicrotask(/** @type {() => void} */ (done));
          return true;
        }
      )
    );
  }
}
