// The AWS Lambda function URL (API Gateway v2 payload 2.0) shapes: an HTTP
// request becomes the event a handler receives, and the handler's result
// becomes the HTTP response, so that existing Lambda handlers run unchanged.
import type { IncomingHttpHeaders } from 'node:http';
import { badFunctionResponse } from './errors.ts';

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
  for (const [name, value] of Object.entries(request.headers)) {
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
      domainPrefix: host.split('.')[0]!,
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
    if (TEXT_TYPES.test(contentType) || (!contentType && isUtf8(request.body))) {
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

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/** "12/Mar/2020:19:03:58 +0000", the time format of requestContext.time. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * The HTTP response for a handler's result (JSON bytes). An object with a
 * statusCode is a full response; anything else is a 200 whose body is the
 * result as JSON, as Lambda function URLs infer it.
 */
export function fromFunctionResult(resultJson: Buffer): HttpResponse {
  if (resultJson.length === 0) return { statusCode: 200, headers: {}, body: Buffer.alloc(0) };
  const result = JSON.parse(resultJson.toString('utf8')) as unknown;
  if (!isStructured(result)) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: resultJson };
  }
  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599)
    throw badFunctionResponse(
      `statusCode ${JSON.stringify(result.statusCode)} is not an HTTP status`,
    );
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name.toLowerCase()] = (values as unknown[]).map(String);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies.map(String);
  let body = Buffer.alloc(0);
  if (result.body !== undefined && result.body !== null) {
    const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
    body = result.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
    headers['content-type'] ??= 'application/json';
  }
  return { statusCode, headers, body };
}

interface StructuredResult {
  statusCode: unknown;
  headers?: Record<string, unknown>;
  multiValueHeaders?: Record<string, unknown[]>;
  cookies?: unknown[];
  body?: unknown;
  isBase64Encoded?: boolean;
}

function isStructured(result: unknown): result is StructuredResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    !Array.isArray(result) &&
    'statusCode' in result
  );
}
