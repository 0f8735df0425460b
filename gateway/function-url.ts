// The AWS Lambda function URL (API Gateway v2 payload 2.0) shapes: an HTTP
// request becomes the event a handler receives, and the handler's result
// becomes the HTTP response, so that existing Lambda handlers run unchanged.
import { HOP_BY_HOP_HEADERS, isValidHeader } from '../lib/http-headers.ts';
import { badFunctionResponse } from './errors.ts';

export { HOP_BY_HOP_HEADERS };

export {
  toFunctionUrlEvent,
  type FunctionUrlEvent,
  type HttpRequestInfo,
} from '../runtime-node/function-url-event.js';

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
