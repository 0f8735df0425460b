// One HTTP request through the gateway, in the order it happens: an Invoke API
// call goes to lambda/invoke-api.ts; otherwise route it to a function and draw
// the revision that answers (traffic.ts), apply its rate and concurrency limits (before a byte of the body
// is read: a refused request costs no memory), read the body within the
// function's limit and the gateway's memory budget, build the event (function
// URL or CloudEvent), then
// either queue it durably (asynchronous) or invoke and turn the result into the
// response. Every response carries x-roost-request-id; every refusal is JSON
// with a stable code; a function's failure becomes its fallback if it has one.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InvokeResponse } from '../proto/sandbox-host.ts';
import type { EventQueue } from '../events/queue.ts';
import type { BodyBudget } from './body-budget.ts';
import { isCloudEvent, toCloudEventJson } from './cloudevents.ts';
import { GatewayError, badRequest, functionFailed, functionTimeout } from './errors.ts';
import { MAX_EVENT_BYTES, queueEvent } from './event-intake.ts';
import { admit, invokeCounted } from './function-call.ts';
import { handleInvokeApi, isInvokeApiPath, type InvokeApiOptions } from './lambda/invoke-api.ts';
import { fromFunctionResult, type HttpRequestInfo, type HttpResponse } from './function-url.ts';
import { encodeHttpRequest, functionUrlEventJson } from '../runtime-node/function-url-event.js';
import type { FunctionEntry, FunctionTable } from './function-table.ts';
import type { Invocation, Invoker } from './invoker.ts';
import type { GatewayMetrics } from './metrics.ts';
import { isQualifier, parseRoute, type FunctionRoute } from './route.ts';
import { readBody, type BodyRead } from './read-body.ts';
import type { RevisionStats } from './revision-stats.ts';
import { chooseRevision, resolveTarget } from './traffic.ts';

export interface RequestContext {
  table: FunctionTable;
  invoker: Invoker;
  /** The durable queue of event invocations; without one, events are refused with 503. */
  events: EventQueue | undefined;
  invokeApi: InvokeApiOptions;
  metrics: GatewayMetrics;
  /** Per-revision counts, which canaries are judged by. */
  revisionStats: RevisionStats;
  /** Memory for request bodies, shared by every request. */
  bodies: BodyBudget;
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
  let entry: FunctionEntry | undefined;
  let revision: number | undefined;
  let status = 500;
  // The body's memory, given back once the response is sent (or the async event is done).
  let releaseBody = () => {};
  try {
    if (isInvokeApiPath(req.url ?? '/')) {
      res.setHeader('x-roost-request-id', requestId);
      ({ entry, status } = await handleInvokeApi(context, req, res, requestId));
      return;
    }
    const route = parseRoute(req.url ?? '/');
    if (!route) {
      res.setHeader('x-roost-request-id', requestId);
      if (context.serveOther(req, res)) return;
      throw new GatewayError(
        404,
        'ROOST_NOT_FOUND',
        `Nothing is served at ${req.url}; functions are under /fn/<namespace>/<name>`,
      );
    }
    const qualifier = qualifierOf(req, route);
    const target = resolveTarget(context.table, route.namespace, route.name, qualifier);
    entry = target.entry;
    const fn = entry;
    const pool = chooseRevision(target);
    revision = pool.revision;

    admit(fn);
    const async = isAsync(req);
    const read = await readInvocation(context, req, fn, route, requestId, async);
    releaseBody = read.release;
    const invocation = read.invocation;

    if (async) {
      // Stored by the broker before the 202: the event outlives this gateway.
      await queueEvent(context.events, fn, {
        requestId,
        payload: invocation.payload,
        source: 'http',
        metadata: invocation.metadata,
        qualifier,
      });
      status = 202;
      send(res, requestId, revision, {
        statusCode: 202,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ requestId })),
      });
      return;
    }

    const answer = await invokeCounted(context, fn, invocation, pool);
    revision = answer.revision ?? revision;
    const response = toHttpResponse(answer, fn.settings.timeoutMs);
    status = response.statusCode;
    send(res, requestId, revision, response);
  } catch (err) {
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError(500, 'ROOST_INTERNAL', `The gateway failed: ${(err as Error).message}`);
    const fallback = entry?.settings.fallback;
    if (error.status >= 500 && fallback) {
      status = fallback.statusCode;
      // Lowercased as setHeader would: the spec's names may be in any case,
      // and send() completes the object by lowercase name.
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(fallback.headers))
        headers[name.toLowerCase()] = value;
      headers['x-roost-fallback'] = 'true';
      headers['x-roost-error-code'] = error.code;
      send(res, requestId, revision, {
        statusCode: fallback.statusCode,
        headers,
        body: Buffer.from(fallback.body),
      });
    } else {
      status = error.status;
      sendError(res, error, requestId, revision);
    }
  } finally {
    releaseBody();
    if (entry) {
      const elapsedMs = performance.now() - started;
      const metrics = context.metrics.forFunction(entry);
      metrics.requests(status).inc();
      metrics.duration.observe(elapsedMs / 1000);
      if (revision !== undefined)
        context.revisionStats.record(entry.namespace, entry.name, revision, status, elapsedMs);
    }
  }
}

/**
 * Reads the body and turns it into the invocation's payload. Its own function
 * so that the body and the event built from it (a base64 string, then its
 * JSON) are garbage once it returns: only the payload stays held while the
 * function runs, not three copies of the upload.
 */
async function readInvocation(
  context: RequestContext,
  req: IncomingMessage,
  fn: FunctionEntry,
  route: FunctionRoute,
  requestId: string,
  async: boolean,
): Promise<{ invocation: Invocation; release: () => void }> {
  fn.reading++;
  let read: BodyRead;
  try {
    // An event waits in the queue: it is held to the queue's message size.
    const limitBytes = async
      ? Math.min(MAX_EVENT_BYTES, fn.settings.maxBodyBytes)
      : fn.settings.maxBodyBytes;
    read = await readBody(req, { limitBytes, budget: context.bodies });
  } finally {
    fn.reading--;
  }
  try {
    const metadata = { method: req.method ?? 'GET', path: route.path };
    const timeoutMs = fn.settings.timeoutMs;
    if (isCloudEvent(req.headers)) {
      const event = toCloudEventJson(req.headers, read.body);
      const payload = Buffer.from(JSON.stringify(event));
      return { invocation: { requestId, payload, metadata, timeoutMs }, release: read.release };
    }
    const request: HttpRequestInfo = {
      method: metadata.method,
      path: route.path,
      query: route.query,
      headers: req.headers,
      body: read.body,
      sourceIp: req.socket.remoteAddress ?? '',
      requestId,
      time: Date.now(),
      apiId: fn.key,
    };
    // A queued event is stored and may run on any runtime: JSON. Run now, the
    // request goes as it is and the function's side builds the event.
    const invocation: Invocation = async
      ? {
          requestId,
          payload: functionUrlEventJson(request),
          metadata,
          timeoutMs,
        }
      : {
          requestId,
          payload: encodeHttpRequest(request),
          format: 'http-request',
          metadata,
          timeoutMs,
        };
    return { invocation, release: read.release };
  } catch (err) {
    read.release();
    throw err;
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

/**
 * Sends the response with the request id and the revision that answered (a
 * function's own headers of those names win, as they always have). Its
 * headers object is the response's own, made for it: it is completed in place
 * and given to writeHead whole, which is Node's fast path (no setHeader
 * before it, so no second copy of every header).
 */
function send(
  res: ServerResponse,
  requestId: string,
  revision: number | undefined,
  response: HttpResponse,
): void {
  if (res.headersSent) return;
  const headers: Record<string, string | string[] | number> = response.headers;
  headers['x-roost-request-id'] ??= requestId;
  if (revision !== undefined) headers['x-roost-revision'] ??= String(revision);
  headers['content-length'] = response.body.length;
  res.writeHead(response.statusCode, headers);
  res.end(response.body);
}

function sendError(
  res: ServerResponse,
  error: GatewayError,
  requestId: string,
  revision: number | undefined,
): void {
  const body = error.functionError ?? {
    error: { code: error.code, message: error.message, requestId },
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers };
  if (error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.retryAfterSeconds);
  // A refused upload over the size limit is not read to its end: close the
  // connection rather than drain it. One refused for want of memory right now
  // is drained unread (costing no memory, bounded by the request timeout), so
  // that the client, still sending, gets to read its 503 and retry.
  if (error.status === 413) headers.connection = 'close';
  send(res, requestId, revision, {
    statusCode: error.status,
    headers,
    body: Buffer.from(JSON.stringify(body)),
  });
}

/** The alias, tag or revision asked for: after "@" in the path, or in x-roost-alias (not both, unless equal). */
function qualifierOf(req: IncomingMessage, route: FunctionRoute): string | undefined {
  const header = req.headers['x-roost-alias'];
  if (header === undefined) return route.qualifier;
  if (typeof header !== 'string' || !isQualifier(header))
    throw badRequest('x-roost-alias must be one alias, tag or revision number');
  if (route.qualifier !== undefined && route.qualifier !== header)
    throw badRequest(
      `The path names @${route.qualifier} and x-roost-alias names ${header}: name one`,
    );
  return header;
}
