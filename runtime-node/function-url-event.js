// @ts-check
// The AWS Lambda function URL event (API Gateway v2 payload 2.0) of an HTTP
// request, and the compact form in which the gateway sends the request to a
// Node.js function process, which builds the event itself.
//
// Why the event is built at the far end: as JSON, the gateway printed it
// (about 2 µs for a small GET) and the function process parsed it (about 3.5
// µs), a measured twelfth of an invocation's CPU; the request's own fields
// cost a fraction of that to write and read (BENCHMARKS.md, bench:invoke).
// Where the event must be JSON (a queued event, a JVM function, a sidecar
// that predates this form) it is built from the same function.
//
// The compact form, one invocation's payload:
//   u32 little-endian  length of the fields
//   fields             method, path, query, sourceIp, requestId, apiId,
//                      time, and the headers as name, value, name, value...
//                      (frames.js HeaderWriter: strings, one double)
//   body               the request's body, raw
import { isUtf8 } from 'node:buffer';
import { HeaderReader, HeaderWriter } from './frames.js';

/** A payload said to be a request in compact form is not one. */
export class MalformedRequestError extends Error {
  /** @param {string} why */
  constructor(why) {
    super(why);
    this.code = 'ROOST_REQUEST_MALFORMED';
  }
}

const REQUEST_FIELDS = {
  what: 'the request',
  error: (/** @type {string} */ why) => new MalformedRequestError(why),
};

/**
 * @typedef {object} HttpRequestInfo
 * @property {string} method
 * @property {string} path the path after the function prefix
 * @property {string} query the raw query string, without "?"
 * @property {Record<string, string | string[] | undefined>} headers lower-case names, as Node gives them
 * @property {Buffer} body
 * @property {string} sourceIp
 * @property {string} requestId
 * @property {number} time Unix milliseconds the request arrived
 * @property {string} apiId names the API in requestContext: namespace/name
 */

/**
 * @typedef {object} FunctionUrlEvent
 * @property {'2.0'} version
 * @property {'$default'} routeKey
 * @property {string} rawPath
 * @property {string} rawQueryString
 * @property {string[]} [cookies]
 * @property {Record<string, string>} headers
 * @property {Record<string, string>} [queryStringParameters]
 * @property {{
 *   accountId: 'anonymous', apiId: string, domainName: string, domainPrefix: string,
 *   http: { method: string, path: string, protocol: string, sourceIp: string, userAgent: string },
 *   requestId: string, routeKey: '$default', stage: '$default', time: string, timeEpoch: number,
 * }} requestContext
 * @property {string} [body]
 * @property {boolean} isBase64Encoded
 */

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql|[\w.+-]+\+(json|xml))\b)/i;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * @param {HttpRequestInfo} request
 * @returns {FunctionUrlEvent}
 */
export function toFunctionUrlEvent(request) {
  /** @type {Record<string, string>} */
  const headers = {};
  const given = request.headers;
  for (const name of Object.keys(given)) {
    const value = given[name];
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const cookieHeader = given.cookie;
  const cookieText = Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader;
  const cookies = cookieText
    ? cookieText
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean)
    : undefined;
  const host = headers.host ?? 'localhost';
  const dot = host.indexOf('.');
  /** @type {FunctionUrlEvent} */
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: request.query,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(request.query ? { queryStringParameters: queryParameters(request.query) } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: request.apiId,
      domainName: host,
      domainPrefix: dot < 0 ? host : host.slice(0, dot),
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(request.time),
      timeEpoch: request.time,
    },
    isBase64Encoded: false,
  };
  if (request.body.length > 0) {
    const contentType = headers['content-type'] ?? '';
    // Text only when it is valid UTF-8, whatever its type says: decoding
    // anything else would hand the function replacement characters for bytes.
    if ((TEXT_TYPES.test(contentType) || !contentType) && isUtf8(request.body)) {
      event.body = request.body.toString('utf8');
    } else {
      event.body = request.body.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  return event;
}

/**
 * Repeated keys are joined with commas, as API Gateway does.
 * @param {string} query
 */
function queryParameters(query) {
  /** @type {Record<string, string>} */
  const parameters = {};
  for (const [key, value] of new URLSearchParams(query)) {
    parameters[key] = key in parameters ? `${parameters[key]},${value}` : value;
  }
  return parameters;
}

/** The last second formatted: every request within one second shares its string. */
let clfCache = { second: NaN, text: '' };

/**
 * "12/Mar/2020:19:03:58 +0000", the time format of requestContext.time.
 * @param {number} epochMs
 */
function clfTime(epochMs) {
  const second = Math.floor(epochMs / 1000);
  if (second === clfCache.second) return clfCache.text;
  const d = new Date(epochMs);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  const text = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  clfCache = { second, text };
  return text;
}

/** Requests are encoded one at a time: one scratch writer serves them all. */
const scratch = new HeaderWriter();

/**
 * The request in its compact form (above).
 * @param {HttpRequestInfo} request
 * @returns {Buffer}
 */
export function encodeHttpRequest(request) {
  /** @type {string[]} */
  const headers = [];
  const given = request.headers;
  for (const name of Object.keys(given)) {
    const value = given[name];
    if (value === undefined) continue;
    headers.push(name, Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ',') : value);
  }
  scratch.offset = 0;
  scratch.str(request.method);
  scratch.str(request.path);
  scratch.str(request.query);
  scratch.str(request.sourceIp);
  scratch.str(request.requestId);
  scratch.str(request.apiId);
  scratch.f64(request.time);
  scratch.strs(headers);
  const fieldBytes = scratch.offset;
  const payload = Buffer.allocUnsafe(4 + fieldBytes + request.body.length);
  payload.writeUInt32LE(fieldBytes, 0);
  scratch.buffer.copy(payload, 4, 0, fieldBytes);
  payload.set(request.body, 4 + fieldBytes);
  return payload;
}

/**
 * The request from its compact form; throws MalformedRequestError naming the
 * field that does not fit. The body is a view into the payload.
 * @param {Buffer} payload
 * @returns {HttpRequestInfo}
 */
export function decodeHttpRequest(payload) {
  const fieldEnd = payload.length < 4 ? -1 : 4 + payload.readUInt32LE(0);
  if (fieldEnd < 0 || fieldEnd > payload.length)
    throw new MalformedRequestError(`a request of ${payload.length} bytes cannot hold its fields`);
  const r = new HeaderReader(payload, 4, fieldEnd, REQUEST_FIELDS);
  const method = r.str('method');
  const path = r.str('path');
  const query = r.str('query');
  const sourceIp = r.str('sourceIp');
  const requestId = r.str('requestId');
  const apiId = r.str('apiId');
  const time = r.f64('time');
  const pairs = r.strs('headers');
  r.done();
  if (pairs.length % 2 !== 0) throw new MalformedRequestError('a header name has no value');
  /** @type {Record<string, string>} */
  const headers = {};
  for (let i = 0; i < pairs.length; i += 2)
    headers[/** @type {string} */ (pairs[i])] = /** @type {string} */ (pairs[i + 1]);
  return {
    method,
    path,
    query,
    headers,
    body: payload.subarray(fieldEnd),
    sourceIp,
    requestId,
    apiId,
    time,
  };
}
