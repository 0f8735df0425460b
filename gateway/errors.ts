// Every way the gateway can refuse or fail a request: an HTTP status, a stable
// code for scripts, and a message a person can act on. Errors reach clients as
// JSON: {"error": {"code", "message", "requestId"}}.
import { RoostError } from '../lib/errors.ts';

export class GatewayError extends RoostError {
  readonly status: number;
  /** Seconds a client should wait before retrying (429, 503). */
  readonly retryAfterSeconds: number | undefined;
  /** Extra response headers, such as x-roost-function-error. */
  readonly headers: Record<string, string>;
  /** A function's own error, returned as the body instead of Roost's. */
  readonly functionError: { errorType: string; errorMessage: string; trace: string[] } | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: {
      retryAfterSeconds?: number;
      headers?: Record<string, string>;
      functionError?: GatewayError['functionError'];
    } = {},
  ) {
    super(code, message);
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
    this.functionError = options.functionError;
  }
}

export const badRequest = (message: string) => new GatewayError(400, 'ROOST_BAD_REQUEST', message);
export const functionNotFound = (namespace: string, name: string) =>
  new GatewayError(
    404,
    'ROOST_FUNCTION_NOT_FOUND',
    `No function ${namespace}/${name}: there is no SandboxDeployment of that name`,
  );
export const payloadTooLarge = (limit: number) =>
  new GatewayError(
    413,
    'ROOST_PAYLOAD_TOO_LARGE',
    `The request body is larger than the ${limit} bytes this function accepts`,
  );
export const rateLimited = (namespace: string, name: string, retryAfterSeconds: number) =>
  new GatewayError(
    429,
    'ROOST_RATE_LIMITED',
    `Function ${namespace}/${name} is over its rate limit`,
    { retryAfterSeconds },
  );
export const overloaded = (what: string) =>
  new GatewayError(429, 'ROOST_OVERLOADED', what, { retryAfterSeconds: 1 });
export const noCapacity = (namespace: string, name: string, waitedMs: number) =>
  new GatewayError(
    503,
    'ROOST_NO_CAPACITY',
    `Function ${namespace}/${name} has no ready instance after waiting ${Math.round(waitedMs / 1000)} s`,
    { retryAfterSeconds: 5 },
  );
export const functionCannotStart = (
  namespace: string,
  name: string,
  reason: string,
  message: string,
) =>
  new GatewayError(
    502,
    'ROOST_FUNCTION_CANNOT_START',
    `Function ${namespace}/${name} has no ready instance and its current revision cannot start: ${reason}: ${message}`,
  );
export const functionTimeout = (timeoutMs: number) =>
  new GatewayError(
    504,
    'ROOST_FUNCTION_TIMEOUT',
    `The function did not answer within ${timeoutMs / 1000} s`,
    { headers: { 'x-roost-function-error': 'Unhandled' } },
  );
export const functionFailed = (errorType: string, errorMessage: string, trace: string[]) =>
  new GatewayError(
    502,
    'ROOST_FUNCTION_ERROR',
    `The function failed: ${errorType}: ${errorMessage}`,
    {
      headers: { 'x-roost-function-error': 'Unhandled' },
      functionError: { errorType, errorMessage, trace },
    },
  );
export const badFunctionResponse = (message: string) =>
  new GatewayError(
    502,
    'ROOST_BAD_FUNCTION_RESPONSE',
    `The function returned a response the gateway cannot send: ${message}`,
    {
      headers: { 'x-roost-function-error': 'Unhandled' },
    },
  );
export const unauthorized = (path: string) =>
  new GatewayError(
    401,
    'ROOST_UNAUTHORIZED',
    `${path} is internal to Roost: send the invoke token as "authorization: Bearer <token>"`,
    { headers: { 'www-authenticate': 'Bearer realm="roost"' } },
  );
export const bodyMemoryFull = (limitBytes: number) =>
  new GatewayError(
    503,
    'ROOST_GATEWAY_BUSY',
    `The gateway already holds request bodies up to its memory limit (${Math.round(limitBytes / 1024 / 1024)} MiB); retry shortly`,
    { retryAfterSeconds: 1 },
  );
export const bodyOverMemoryLimit = (bodyBytes: number, limitBytes: number) =>
  new GatewayError(
    413,
    'ROOST_PAYLOAD_TOO_LARGE',
    `The request body of ${bodyBytes} bytes needs more memory than this gateway holds for all bodies at once (${Math.round(limitBytes / 1024 / 1024)} MiB)`,
  );
export const clientAborted = () =>
  new GatewayError(
    400,
    'ROOST_BAD_REQUEST',
    'The client closed the connection before sending the whole body',
  );
export const jsonTooDeep = (what: string, maxDepth: number) =>
  new GatewayError(
    400,
    'ROOST_BAD_REQUEST',
    `Cannot read ${what}: JSON nested deeper than ${maxDepth} levels`,
  );
/** Never seen by a client: an event taken back by its sender before it started. */
export const invocationWithdrawn = (requestId: string) =>
  new GatewayError(
    409,
    'ROOST_EVENT_WITHDRAWN',
    `The event ${requestId} was withdrawn by its sender before it started`,
  );
