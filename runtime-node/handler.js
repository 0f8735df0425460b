// @ts-check
// Finds and loads the function's handler the way AWS Lambda's Node runtime
// does: "src/app.handler" means the export `handler` of src/app.js, .mjs or
// .cjs, whether it is an ES module export or module.exports.handler.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** @typedef {(event: unknown, context: object, callback?: (err: unknown, result?: unknown) => void) => unknown} Handler */

export class HandlerLoadError extends Error {
  /**
   * @param {string} errorType
   * @param {string} message
   * @param {ErrorOptions} [options]
   */
  constructor(errorType, message, options) {
    super(message, options);
    this.errorType = errorType;
  }
}

const EXTENSIONS = ['.js', '.mjs', '.cjs'];

/**
 * @param {string} codeDir
 * @param {string} handler
 * @returns {Promise<Handler>}
 */
export async function loadHandler(codeDir, handler) {
  const dot = handler.lastIndexOf('.');
  const modulePath = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const file = EXTENSIONS.map((ext) => join(codeDir, modulePath + ext)).find((path) =>
    existsSync(path),
  );
  if (!file) {
    throw new HandlerLoadError(
      'HandlerNotFound',
      `Cannot find the module of handler ${handler}: none of ${EXTENSIONS.map((ext) => modulePath + ext).join(', ')} exists in the function code`,
    );
  }
  /** @type {Record<string, unknown>} */
  let module;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (err) {
    const error = /** @type {Error} */ (err);
    throw new HandlerLoadError(
      error.name || 'Error',
      `Cannot load ${modulePath}: ${error.message}`,
      { cause: err },
    );
  }
  const fromDefault = /** @type {Record<string, unknown> | undefined} */ (module.default);
  const candidate =
    module[exportName] ?? (typeof fromDefault === 'object' ? fromDefault?.[exportName] : undefined);
  if (typeof candidate !== 'function') {
    throw new HandlerLoadError(
      'HandlerNotFound',
      `Cannot find handler ${handler}: ${modulePath} does not export a function named ${exportName}`,
    );
  }
  return /** @type {Handler} */ (candidate);
}

/**
 * Calls an async, promise-returning or callback-style handler and settles with its outcome.
 * @param {Handler} handler
 * @param {unknown} event
 * @param {object} context
 * @returns {Promise<unknown>}
 */
export function callHandler(handler, event, context) {
  if (handler.length < 3) return Promise.resolve().then(() => handler(event, context));
  return new Promise((resolve, reject) => {
    let settled = false;
    /** @type {(err: unknown, result?: unknown) => void} */
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined)
        reject(err instanceof Error ? err : new Error(safeString(err)));
      else resolve(result);
    };
    try {
      const returned = /** @type {Promise<unknown> | undefined} */ (
        handler(event, context, callback)
      );
      if (returned && typeof returned.then === 'function') {
        returned.then(
          (value) => callback(null, value),
          (err) => callback(err ?? new Error('rejected')),
        );
      }
    } catch (err) {
      callback(err);
    }
  });
}

/**
 * A thrown value, or a field of a thrown Error, as text. The function's code
 * made it: its toString may throw, or be no function at all, and
 * Object.prototype.toString cannot be fooled that way.
 * @param {unknown} value
 */
export function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
