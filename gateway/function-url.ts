// The AWS Lambda function URL (API Gateway v2 payload 2.0) shapes: an HTTP
// request becomes the event a handler receives, and the handler's result
// becomes the HTTP response, so that existing Lambda handlers run unchanged.
import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { HOP_BY_HOP_HEADERS, isValidHeader } from '../lib/http-headers.ts';
import { badFunctionResponse } from './errors.ts';

export { HOP_BY_HOP_HEADERS };

export interface HttpRequestInfo {
  method: string;
  /** The path after the function prefix. */
  path: string;
  /** The raw query string, without "?". */
  query: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sourceIp: string;
  requestId: string;
  /** Unix milliseconds the request arrived. */
  time: number;
  /** Names the API in requestContext: namespace/name. */
  apiId: string;
}

export interface FunctionUrlEvent {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: 'anonymous';
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: '$default';
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql|[\w.+-]+\+(json|xml))\b)/i;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function toFunctionUrlEvent(request: HttpRequestInfo): FunctionUrlEvent {
  const headers: Record<string, string> = {};
  const given = request.headers;
  for (const name of Object.keys(given)) {
    const value = given[name];
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const cookieHeader = request.headers.cookie;
  const cookies = cookieHeader
    ? cookieHeader
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean)
    : undefined;
  const host = headers.host ?? 'localhost';
  const dot = host.indexOf('.');
  const event: FunctionUrlEvent = {
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

/** Repeated keys are joined with commas, as API Gateway does. */
function queryParameters(query: string): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    parameters[key] = key in parameters ? `${parameters[key]},${value}` : value;
  }
  return parameters;
}

/** The last second formatted: every request within one second shares its string. */
let clfCache = { second: NaN, text: '' };

/** "12/Mar/2020:19:03:58 +0000", the time format of requestContext.time. */
function clfTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second === clfCache.second) return clfCache.text;
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  const text = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  clfCache = { second, text };
  return text;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * The HTTP response for a handler's result (JSON bytes). An object with a
 * statusCode is a full response; anything else is a 200 whose body is the
 * result as JSON, as Lambda function URLs infer it. The bytes come from the
 * function's process, which may be hostile: whatever they are, the answer is
 * a response Node can send or 502 ROOST_BAD_FUNCTION_RESPONSE saying why.
 */
export function fromFunctionResult(resultJson: Buffer): HttpResponse {
  if (resultJson.length === 0) return { statusCode: 200, headers: {}, body: Buffer.alloc(0) };
  let result: unknown;
  try {
    result = JSON.parse(resultJson.toString('utf8'));
  } catch {
    throw badFunctionResponse('the result is not JSON');
  }
  if (!isStructured(result)) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: resultJson };
  }
  const statusCode = Number(scalarText(result.statusCode) ?? NaN);
  // 1xx are not final answers: a client would wait on for one that never comes.
  if (!Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599)
    throw badFunctionResponse(
      `statusCode ${JSON.stringify(result.statusCode)} is not a final HTTP status (200-599)`,
    );
  const headers: Record<string, string | string[]> = {};
  const set = (name: string, value: string | string[]) => {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower)) return;
    if (!isValidHeader(lower, value))
      throw badFunctionResponse(`header ${JSON.stringify(name)} is not a valid HTTP header`);
    headers[lower] = value;
  };
  const text = (where: string, value: unknown): string => {
    const scalar = scalarText(value);
    if (scalar === undefined)
      throw badFunctionResponse(`${where} is not a string, a number or a boolean`);
    return scalar;
  };
  // null stands for no header, as JSON has no undefined to say it with; a
  // list is sent as that many header lines, as multiValueHeaders would be.
  for (const [name, value] of Object.entries(objectField(result, 'headers'))) {
    if (value === null) continue;
    set(
      name,
      Array.isArray(value)
        ? value.map((item, i) => text(`headers.${name}[${i}]`, item))
        : text(`headers.${name}`, value),
    );
  }
  for (const [name, values] of Object.entries(objectField(result, 'multiValueHeaders'))) {
    if (!Array.isArray(values))
      throw badFunctionResponse(`multiValueHeaders.${name} is not a list`);
    set(
      name,
      values.map((value, i) => text(`multiValueHeaders.${name}[${i}]`, value)),
    );
  }
  if (result.cookies !== undefined && result.cookies !== null) {
    if (!Array.isArray(result.cookies)) throw badFunctionResponse('cookies is not a list');
    const cookies = result.cookies.map((value, i) => text(`cookies[${i}]`, value));
    if (cookies.length > 0) set('set-cookie', cookies);
  }
  let body = Buffer.alloc(0);
  if (result.body !== undefined && result.body !== null) {
    const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
    body =
      result.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
    headers['content-type'] ??= 'application/json';
  }
  return { statusCode, headers, body };
}

/**
 * A header value, status or cookie as text; undefined for anything else. An
 * object is never converted: its JSON may define toString or valueOf, and
 * "[object Object]" is no header a function meant to send.
 */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean')
    return String(value);
  return undefined;
}

/** An optional object field of a result: absent or null is empty; anything but an object is refused. */
function objectField(result: StructuredResult, name: 'headers' | 'multiValueHeaders'): object {
  const value = result[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw badFunctionResponse(`${name} is not an object`);
  return value;
}

interface StructuredResult {
  statusCode: unknown;
  headers?: unknown;
  multiValueHeaders?: unknown;
  cookies?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
}

function isStructured(result: unknown): result is StructuredResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    !Array.isArray(result) &&
    'statusCode' in result
  );
}
