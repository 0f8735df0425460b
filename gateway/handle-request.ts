// One HTTP request through the gateway, in the order it happens: route it to a
// function, read the body within the function's limit, apply its rate and
// concurrency limits, build the event (function URL or CloudEvent), then
// either queue it (asynchronous) or invoke and turn the result into the
// response. Every response carries x-roost-request-id; every refusal is JSON
// with a stable code; a function's failure becomes its fallback if it has one.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InvokeResponse } from '../proto/sandbox-host.ts';
import type { AsyncInvoker } from './async-invoker.ts';
import { isCloudEvent, toCloudEventJson } from './cloudevents.ts';
import {
  GatewayError,
  functionFailed,
  functionNotFound,
  functionTimeout,
  overloaded,
  payloadTooLarge,
  rateLimited,
} from './errors.ts';
import { fromFunctionResult, toFunctionUrlEvent, type HttpResponse } from './function-url.ts';
import type { FunctionEntry, FunctionTable } from './function-table.ts';
import type { Invoker } from './invoker.ts';
import type { GatewayMetrics } from './metrics.ts';
import { parseRoute } from './route.ts';

export interface RequestContext {
  table: FunctionTable;
  invoker: Invoker;
  asyncInvoker: AsyncInvoker;
  metrics: GatewayMetrics;
  /** Answers paths outside /fn/ (health, metrics, stats); false if unknown; throws the 401 for a caller without the token. */
  serveOther: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export async function handleRequest(
  context: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const requestId = randomUUID();
  res.setHeader('x-roost-request-id', requestId);
  let entry: FunctionEntry | undefined;
  let status = 500;
  try {
    const route = parseRoute(req.url ?? '/');
    if (!route) {
      if (context.serveOther(req, res)) return;
      throw new GatewayError(
        404,
        'ROOST_NOT_FOUND',
        `Nothing is served at ${req.url}; functions are under /fn/<namespace>/<name>`,
      );
    }
    entry = context.table.get(route.namespace, route.name);
    if (!entry) throw functionNotFound(route.namespace, route.name);
    const fn = entry;

    const body = await readBody(req, fn.settings.maxBodyBytes);
    const waitMs = fn.rateLimit?.take() ?? 0;
    if (waitMs > 0) throw rateLimited(fn.namespace, fn.name, Math.max(1, Math.ceil(waitMs / 1000)));
    if (
      fn.settings.maxConcurrency !== undefined &&
      fn.concurrency.inFlight >= fn.settings.maxConcurrency
    ) {
      throw overloaded(
        `Function ${fn.key} is at its gateway concurrency limit of ${fn.settings.maxConcurrency}`,
      );
    }

    const event = isCloudEvent(req.headers)
      ? toCloudEventJson(req.headers, body)
      : toFunctionUrlEvent({
          method: req.method ?? 'GET',
          path: route.path,
          query: route.query,
          headers: req.headers,
          body,
          sourceIp: req.socket.remoteAddress ?? '',
          requestId,
          time: Date.now(),
          apiId: fn.key,
        });
    const invocation = {
      requestId,
      payload: Buffer.from(JSON.stringify(event)),
      metadata: { method: req.method ?? 'GET', path: route.path },
      timeoutMs: fn.settings.timeoutMs,
    };

    if (isAsync(req)) {
      const queued = context.asyncInvoker.enqueue({
        requestId,
        functionKey: fn.key,
        attempt: async () =>
          (await context.invoker.invoke(fn, invocation)).error === 'FUNCTION_ERROR_NONE',
      });
      if (!queued) throw overloaded('The gateway queue of asynchronous invocations is full');
      status = 202;
      send(res, {
        statusCode: 202,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ requestId })),
      });
      return;
    }

    fn.concurrency.start();
    const metrics = context.metrics.forFunction(fn.namespace, fn.name);
    metrics.inflight.inc();
    try {
      const response = toHttpResponse(
        await context.invoker.invoke(fn, invocation),
        fn.settings.timeoutMs,
      );
      status = response.statusCode;
      send(res, response);
    } finally {
      fn.concurrency.finish();
      metrics.inflight.dec();
    }
  } catch (err) {
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError(500, 'ROOST_INTERNAL', `The gateway failed: ${(err as Error).message}`);
    const fallback = entry?.settings.fallback;
    if (error.status >= 500 && fallback) {
      status = fallback.statusCode;
      send(res, {
        statusCode: fallback.statusCode,
        headers: {
          ...fallback.headers,
          'x-roost-fallback': 'true',
          'x-roost-error-code': error.code,
        },
        body: Buffer.from(fallback.body),
      });
    } else {
      status = error.status;
      sendError(res, error, requestId);
    }
  } finally {
    if (entry) {
      const metrics = context.metrics.forFunction(entry.namespace, entry.name);
      metrics.requests(status).inc();
      metrics.duration.observe((performance.now() - started) / 1000);
    }
  }
}

/** The function's outcome as HTTP: its result, or 502/504 for its failures. */
function toHttpResponse(response: InvokeResponse, timeoutMs: number): HttpResponse {
  switch (response.error) {
    case 'FUNCTION_ERROR_NONE':
      return fromFunctionResult(response.result);
    case 'FUNCTION_ERROR_TIMEOUT':
      throw functionTimeout(timeoutMs);
    default:
      throw functionFailed(
        response.errorType || 'Error',
        response.errorMessage,
        response.stackTrace,
      );
  }
}

function isAsync(req: IncomingMessage): boolean {
  const type = req.headers['x-roost-invocation-type'] ?? req.headers['x-amz-invocation-type'];
  return typeof type === 'string' && type.toLowerCase() === 'event';
}

/** The body, refused with 413 as soon as it is known to be over the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(payloadTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, response: HttpResponse): void {
  if (res.headersSent) return;
  res.writeHead(response.statusCode, {
    ...response.headers,
    'content-length': response.body.length,
  });
  res.end(response.body);
}

function sendError(res: ServerResponse, error: GatewayError, requestId: string): void {
  const body = error.functionError ?? {
    error: { code: error.code, message: error.message, requestId },
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers };
  if (error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.retryAfterSeconds);
  // A refused upload is not read to its end: close the connection rather than drain it.
  if (error.status === 413) headers.connection = 'close';
  send(res, { statusCode: error.status, headers, body: Buffer.from(JSON.stringify(body)) });
}
