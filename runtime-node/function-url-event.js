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
// The compact form, one invocation's payload (numbers little-endian):
//   u32       n, how many strings: method, path, query, sourceIp, requestId,
//             apiId, then each header's name and value
//   f64       time
//   u32 × n   each string's length, in UTF-16 units (JavaScript's length)
//   u32       bytes of the text
//   text      every string, joined, as UTF-8
//   body      the request's body, raw
// The strings travel as one text so that reading them costs one decode and
// a substring each: a decode per string cost about 0.1 µs, most of reading
// a request.
import { isUtf8 } from 'node:buffer';

/** A payload said to be a request in compact form is not one. */
export class MalformedRequestError extends Error {
  /** @param {string} why */
  constructor(why) {
    super(`the request is malformed: ${why}`);
    this.code = 'ROOST_REQUEST_MALFORMED';
  }
}

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

/**
 * The event as JSON, for whoever must take it so: a queued event, a JVM
 * function, a sidecar that predates the compact form.
 * @param {HttpRequestInfo} request
 * @returns {Buffer}
 */
export function functionUrlEventJson(request) {
  return Buffer.from(JSON.stringify(toFunctionUrlEvent(request)));
}

/** The strings before the headers'. */
const FIXED_STRINGS = 6;

/**
 * The request in its compact form (above).
 * @param {HttpRequestInfo} request
 * @returns {Buffer}
 */
export function encodeHttpRequest(request) {
  const strings = [
    request.method,
    request.path,
    request.query,
    request.sourceIp,
    request.requestId,
    request.apiId,
  ];
  const given = request.headers;
  for (const name of Object.keys(given)) {
    const value = given[name];
    if (value === undefined) continue;
    strings.push(name, Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ',') : value);
  }
  const text = strings.join('');
  const textBytes = Buffer.byteLength(text);
  const start = 4 + 8 + 4 * strings.length + 4;
  const payload = Buffer.allocUnsafe(start + textBytes + request.body.length);
  payload.writeUInt32LE(strings.length, 0);
  payload.writeDoubleLE(request.time, 4);
  let offset = 12;
  for (const string of strings) {
    payload.writeUInt32LE(string.length, offset);
    offset += 4;
  }
  payload.writeUInt32LE(textBytes, offset);
  payload.write(text, start, 'utf8');
  payload.set(request.body, start + textBytes);
  return payload;
}

/**
 * The request from its compact form; throws MalformedRequestError saying what
 * does not fit. The body is a view into the payload.
 * @param {Buffer} payload
 * @returns {HttpRequestInfo}
 */
export function decodeHttpRequest(payload) {
  if (payload.length < 12)
    throw new MalformedRequestError(`a request of ${payload.length} bytes is too short`);
  const count = payload.readUInt32LE(0);
  const time = payload.readDoubleLE(4);
  const lengthsEnd = 12 + 4 * count;
  if (count < FIXED_STRINGS || count % 2 !== 0 || lengthsEnd + 4 > payload.length)
    throw new MalformedRequestError(
      `a request of ${payload.length} bytes cannot hold ${count} strings`,
    );
  const textBytes = payload.readUInt32LE(lengthsEnd);
  const textStart = lengthsEnd + 4;
  if (textBytes > payload.length - textStart)
    throw new MalformedRequestError(`the request's text of ${textBytes} bytes runs past its end`);
  const text = payload.toString('utf8', textStart, textStart + textBytes);
  let at = 0;
  const next = (/** @type {number} */ index) => {
    const length = payload.readUInt32LE(12 + 4 * index);
    if (length > text.length - at)
      throw new MalformedRequestError(`the request's string ${index} runs past its text`);
    at += length;
    return text.substring(at - length, at);
  };
  const method = next(0);
  const path = next(1);
  const query = next(2);
  const sourceIp = next(3);
  const requestId = next(4);
  const apiId = next(5);
  /** @type {Record<string, string>} */
  const headers = {};
  for (let i = FIXED_STRINGS; i < count; i += 2) {
    const name = next(i);
    headers[name] = next(i + 1);
  }
  if (at !== text.length)
    throw new MalformedRequestError(
      `the request's text has ${text.length - at} characters past its strings`,
    );
  return {
    method,
    path,
    query,
    headers,
    body: payload.subarray(textStart + textBytes),
    sourceIp,
    requestId,
    apiId,
    time,
  };
}
