// What the console does on a user's behalf, once access.ts has allowed it:
// invoke a function through a gateway (as a client would, so the figures and
// logs show it like any other request), scale it through the scale
// subresource, and read its Sandboxes' log lines from their sidecars.
import type { LogEntry, LogsRequest } from '../proto/sandbox-host.ts';
import { SandboxDeployments, SandboxRoutes } from '../kube/api/resources.ts';
import type { RouteTarget, SandboxRoute } from '../kube/api/roost.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import { levelOf, mergeByTime, LEVELS, type LevelName } from '../cli/log-lines.ts';
import { RoostError, errorMessage } from '../lib/errors.ts';
import { sleep } from '../lib/duration.ts';
import type { InvokeResult, LogLine } from './view-types.ts';

export const MAX_INVOKE_BODY_BYTES = 1024 * 1024;
const MAX_LOG_LINES = 2000;
const INVOKE_TIMEOUT_MS = 60_000;

/** A request the console refuses, with the HTTP status to answer. */
export class ConsoleRequestError extends RoostError {
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, message);
    this.status = status;
  }
}

export interface InvokeForm {
  /** "http": a request to the function's URL; "event": a CloudEvent whose data is `body` (JSON). */
  mode: 'http' | 'event';
  method?: string;
  /** Path and query after /fn/<namespace>/<name>, such as "/items?id=3". */
  path?: string;
  body?: string;
  contentType?: string;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** Checks an invoke form from a browser; throws a 400 naming the field. */
export function readInvokeForm(input: unknown): InvokeForm {
  const form = (input ?? {}) as Record<string, unknown>;
  const bad = (field: string, why: string) =>
    new ConsoleRequestError(400, 'ROOST_CONSOLE_BAD_REQUEST', `Cannot invoke: ${field} ${why}`);
  if (form.mode !== 'http' && form.mode !== 'event') throw bad('mode', 'must be "http" or "event"');
  const text = (field: keyof InvokeForm, absent: string): string => {
    const value = form[field];
    if (value === undefined) return absent;
    if (typeof value !== 'string') throw bad(field, 'must be a string');
    return value;
  };
  const method = text('method', 'POST').toUpperCase();
  if (!METHODS.has(method)) throw bad('method', `must be one of ${[...METHODS].join(', ')}`);
  const path = text('path', '');
  if (path && !path.startsWith('/') && !path.startsWith('?'))
    throw bad('path', 'must start with / or ?');
  if (path.length > 2048 || /[\s\\]/.test(path) || path.includes('..'))
    throw bad('path', 'must be a plain path of at most 2048 characters');
  const body = text('body', '');
  if (Buffer.byteLength(body) > MAX_INVOKE_BODY_BYTES)
    throw bad('body', `is larger than ${MAX_INVOKE_BODY_BYTES} bytes`);
  if (form.mode === 'event' && body) {
    try {
      JSON.parse(body);
    } catch {
      throw bad('body', 'must be JSON for an event');
    }
  }
  const contentType = text('contentType', 'application/json');
  if (contentType.length > 200 || /[\r\n]/.test(contentType))
    throw bad('contentType', 'is not a media type');
  return { mode: form.mode, method, path, body, contentType };
}

export interface ActionsOptions {
  client: KubeClient;
  token: string;
  gateways(): { url: string }[];
  /** host:port of the sidecars that may hold a function's logs. */
  sidecars(): string[];
}

export class Actions {
  readonly #options: ActionsOptions;

  constructor(options: ActionsOptions) {
    this.#options = options;
  }

  async invoke(namespace: string, name: string, form: InvokeForm): Promise<InvokeResult> {
    const gateway = this.#options.gateways()[0];
    if (!gateway)
      throw new ConsoleRequestError(
        503,
        'ROOST_CONSOLE_NO_GATEWAY',
        'Cannot invoke: no gateway is registered',
      );
    const url = new URL(
      `/fn/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${form.path ?? ''}`,
      gateway.url,
    );
    const event = form.mode === 'event';
    const headers: Record<string, string> = event
      ? { 'content-type': 'application/cloudevents+json' }
      : form.body
        ? { 'content-type': form.contentType ?? 'application/json' }
        : {};
    const body = event
      ? JSON.stringify({
          specversion: '1.0',
          id: crypto.randomUUID(),
          source: 'roost-console',
          type: 'dev.roost.console.invoke',
          datacontenttype: 'application/json',
          data: form.body ? JSON.parse(form.body) : null,
        })
      : form.body || undefined;
    const method = event ? 'POST' : (form.method ?? 'POST');
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: method === 'GET' || method === 'HEAD' ? undefined : body,
        signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ConsoleRequestError(
        502,
        'ROOST_CONSOLE_GATEWAY',
        `Cannot invoke through the gateway at ${gateway.url}: ${errorMessage(err)}`,
      );
    }
    const text = await response.text();
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const requestId = response.headers.get('x-roost-request-id') ?? '';
    // The sidecar records a line as the function prints it; a short wait lets
    // the last ones of this invocation arrive before they are asked for.
    let logs: LogLine[] = [];
    if (requestId)
      for (const wait of [100, 400, 1000]) {
        await sleep(wait);
        logs = await this.logs({ namespace, deployment: name, requestId });
        if (logs.length) break;
      }
    return {
      status: response.status,
      requestId,
      durationMs,
      headers: headersOf(response),
      body: text.length > 256 * 1024 ? `${text.slice(0, 256 * 1024)}\n… (cut at 256 KiB)` : text,
      logs,
    };
  }

  async scale(namespace: string, name: string, replicas: unknown): Promise<void> {
    if (!Number.isInteger(replicas) || (replicas as number) < 0 || (replicas as number) > 1000)
      throw new ConsoleRequestError(
        400,
        'ROOST_CONSOLE_BAD_REQUEST',
        'Cannot scale: replicas must be an integer from 0 to 1000',
      );
    await this.#options.client.patch(
      SandboxDeployments,
      { namespace, name },
      { spec: { replicas } },
      { subresource: 'scale' },
    );
  }

  /**
   * Sets the split of one of the function's SandboxRoutes, as `roost traffic
   * set` does; the API server's validation (percents adding up to 100, one
   * tag per target) answers for the rest, naming the field.
   */
  async setTraffic(namespace: string, name: string, body: unknown): Promise<RouteTarget[]> {
    const { route, targets } = readTrafficForm(body);
    let existing: SandboxRoute;
    try {
      existing = await this.#options.client.get(SandboxRoutes, { namespace, name: route });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      existing = { metadata: {}, spec: { deployment: '', targets: [] } };
    }
    if (existing.spec.deployment !== name)
      throw new ConsoleRequestError(
        404,
        'ROOST_CONSOLE_NOT_FOUND',
        `Function ${namespace}/${name} has no SandboxRoute ${route}`,
      );
    try {
      const patched = await this.#options.client.patch(
        SandboxRoutes,
        { namespace, name: route },
        { spec: { targets } },
      );
      return patched.spec.targets;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 422 || err.status === 400))
        throw new ConsoleRequestError(422, 'ROOST_CONSOLE_INVALID', err.message);
      throw err;
    }
  }

  /** A function's log lines from every sidecar, merged in time order; the newest `limit`. */
  async logs(query: LogQuery): Promise<LogLine[]> {
    const request = logsRequest(query);
    const streams = await Promise.all(
      this.#options.sidecars().map((address) => this.#readLogs(address, request)),
    );
    return mergeByTime(streams).slice(-request.limit!).map(toLogLine);
  }

  /**
   * Calls `onLine` with each line of the function from `sinceMs` on (else
   * each new one), from every sidecar
   * (host pods that appear later are joined within seconds), until the
   * returned stop is called.
   */
  followLogs(query: LogQuery, onLine: (line: LogLine) => void): () => void {
    // From sinceMs (the page's newest line), so that nothing falls between its
    // first read and the tail; from now without one.
    const request = {
      ...logsRequest(query),
      sinceMs: query.sinceMs ?? Date.now(),
      limit: MAX_LOG_LINES,
      follow: true,
    };
    const following = new Map<string, { stream: unknown; close(): void }>();
    const join = () => {
      const addresses = new Set(this.#options.sidecars());
      for (const [address, stream] of following)
        if (!addresses.has(address)) {
          stream.close();
          following.delete(address);
        }
      for (const address of addresses) {
        if (following.has(address)) continue;
        const connection = new SandboxHostConnection(address, this.#options.token);
        const stream = connection.logs(request);
        stream.on('data', (line: LogEntry) => onLine(toLogLine(line)));
        // A sidecar that goes away is dropped; the next look joins it again if it is back.
        const drop = () => {
          if (following.get(address)?.stream !== stream) return;
          following.delete(address);
          connection.close();
        };
        stream.on('error', drop);
        stream.on('end', drop);
        following.set(address, {
          stream,
          close: () => {
            stream.cancel();
            connection.close();
          },
        });
      }
    };
    join();
    const timer = setInterval(join, FOLLOW_RESCAN_MS);
    return () => {
      clearInterval(timer);
      for (const stream of following.values()) stream.close();
      following.clear();
    };
  }

  /** One sidecar's lines; a sidecar that does not answer has none to give. */
  async #readLogs(address: string, request: Partial<LogsRequest>): Promise<LogEntry[]> {
    const connection = new SandboxHostConnection(address, this.#options.token);
    try {
      return await new Promise<LogEntry[]>((resolve) => {
        const lines: LogEntry[] = [];
        const stream = connection.logs({ ...request, follow: false }, { deadlineMs: 5000 });
        stream.on('data', (line: LogEntry) => lines.push({ ...line, timeMs: Number(line.timeMs) }));
        stream.on('end', () => resolve(lines));
        stream.on('error', () => resolve(lines));
      });
    } finally {
      connection.close();
    }
  }
}

/** Reads `{route, targets: [{revision | latestRevision, percent, tag?}]}` from a page, naming what is wrong. */
function readTrafficForm(body: unknown): { route: string; targets: RouteTarget[] } {
  const bad = (message: string) =>
    new ConsoleRequestError(400, 'ROOST_CONSOLE_BAD_REQUEST', `Cannot set traffic: ${message}`);
  const form = (body ?? {}) as { route?: unknown; targets?: unknown };
  if (typeof form.route !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(form.route))
    throw bad('route must be the name of a SandboxRoute');
  if (!Array.isArray(form.targets) || form.targets.length === 0 || form.targets.length > 16)
    throw bad('targets must be a list of 1 to 16 targets');
  const targets = form.targets.map((raw: unknown, i): RouteTarget => {
    const t = (raw ?? {}) as Record<string, unknown>;
    const at = `targets[${i}]`;
    if (!Number.isInteger(t.percent) || (t.percent as number) < 0 || (t.percent as number) > 100)
      throw bad(`${at}.percent must be an integer from 0 to 100`);
    if (t.latestRevision !== undefined && t.latestRevision !== true)
      throw bad(`${at}.latestRevision must be true when given`);
    if ((t.latestRevision === true) === (t.revision !== undefined))
      throw bad(`${at} names exactly one of revision and latestRevision`);
    if (t.revision !== undefined && (!Number.isInteger(t.revision) || (t.revision as number) < 1))
      throw bad(`${at}.revision must be a revision number`);
    if (
      t.tag !== undefined &&
      (typeof t.tag !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(t.tag))
    )
      throw bad(`${at}.tag must be a DNS label`);
    return {
      ...(t.latestRevision ? { latestRevision: true } : { revision: t.revision as number }),
      percent: t.percent as number,
      ...(t.tag ? { tag: t.tag as string } : {}),
    };
  });
  return { route: form.route, targets };
}

/** What a page asks of a function's logs. */
export interface LogQuery {
  namespace: string;
  deployment: string;
  requestId?: string;
  contains?: string;
  level?: string;
  sinceMs?: number;
  limit?: number;
}

/** How often a live tail looks for host pods that joined since it started. */
const FOLLOW_RESCAN_MS = 5000;

function logsRequest(query: LogQuery): Partial<LogsRequest> {
  if (query.level && !LEVELS.includes(query.level as LevelName))
    throw new ConsoleRequestError(
      400,
      'ROOST_CONSOLE_BAD_REQUEST',
      `Cannot read logs: level must be one of ${LEVELS.join(', ')}`,
    );
  return {
    namespace: query.namespace,
    deployment: query.deployment,
    requestId: query.requestId ?? '',
    contains: query.contains ?? '',
    minLevel: query.level ? levelOf(query.level as LevelName) : 'LOG_LEVEL_UNSPECIFIED',
    sinceMs: query.sinceMs ?? 0,
    limit: Math.min(Math.max(1, query.limit ?? 500), MAX_LOG_LINES),
  };
}

function toLogLine(line: LogEntry): LogLine {
  return {
    timeMs: Number(line.timeMs),
    level: line.level.replace('LOG_LEVEL_', '').toLowerCase(),
    namespace: line.namespace,
    sandbox: line.sandbox,
    deployment: line.deployment,
    requestId: line.requestId,
    stream: line.stream,
    message: line.message,
  };
}

function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  return headers;
}
