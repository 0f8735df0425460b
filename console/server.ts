// The `roost console` process: the cluster view (informers), the figures
// (gateways' /metrics, sidecars' Stats), and an HTTP server that serves the
// built front end, logs people in, and pushes snapshots to open pages over
// server-sent events. Every /api/ path needs a session; every session sees
// only the namespaces access.ts allows it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound, KubeApiError } from '../kube/errors.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { Access, TokenRejectedError, type ConsoleAction } from './access.ts';
import {
  Actions,
  ConsoleRequestError,
  MAX_INVOKE_BODY_BYTES,
  readInvokeForm,
  type LogQuery,
} from './actions.ts';
import { StaticAssets } from './assets.ts';
import { ClusterView } from './cluster-view.ts';
import { Figures } from './figures.ts';
import { LoginLimiter } from './login-limits.ts';
import { LoginTicketError, LoginTickets } from './login-tickets.ts';
import { SessionStore, type Session } from './sessions.ts';
import { viewFor } from './visibility.ts';

export interface ConsoleOptions {
  client: KubeClient;
  host: string;
  port: number;
  /** The invoke token: the gateways' /metrics and the sidecars' gRPC want it. */
  token: string;
  /** Signs one-time login links (login-tickets.ts). */
  loginKey: string;
  namespace?: string;
  systemNamespace: string;
  scrapeIntervalMs: number;
  /** Mark the session cookie Secure (the console is reached over HTTPS). */
  secureCookie: boolean;
  log: Logger;
}

export interface RunningConsole {
  url: string;
  view: ClusterView;
  figures: Figures;
  stop(): Promise<void>;
}

const SSE_PING_MS = 15_000;
/** What a refusal says the user may not do. */
const ACTION_WORDS: Record<ConsoleAction, string> = {
  list: 'see functions',
  scale: 'scale functions',
  invoke: 'invoke functions',
  route: 'change routes (patch sandboxroutes)',
};
/** Open pages at most; one more gets a 503 rather than more of the console's memory. */
const MAX_STREAMS = 200;
/** A page that reads slower than snapshots come is dropped (it reconnects) rather than buffered for. */
const MAX_STREAM_BUFFER_BYTES = 8 * 1024 * 1024;
const MAX_JSON_BYTES = 64 * 1024;

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { client, log } = options;
  const assets = await StaticAssets.load(log);
  const view = new ClusterView({
    client,
    namespace: options.namespace,
    systemNamespace: options.systemNamespace,
    log,
  });
  const figures = new Figures({
    token: options.token,
    intervalMs: options.scrapeIntervalMs,
    log,
    gateways: () => view.gatewayTargets(),
    sidecars: () => view.sidecarTargets(),
    functions: () => view.replicas(),
  });
  view.figures = figures;
  const actions = new Actions({
    client,
    token: options.token,
    gateways: () => view.gatewayTargets(),
    sidecars: () => view.sidecarTargets().map((s) => s.address),
  });
  const tickets = new LoginTickets(options.loginKey);
  const loginLimiter = new LoginLimiter();
  const sessions = new SessionStore();
  const access = new Access(client);
  const streams = new Set<ServerResponse>();

  await view.start();
  figures.start();
  // Each scrape changes the figures shown in the snapshot too.
  figures.onTick(() => view.changed());

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ConsoleRequestError)
        return sendJson(res, err.status, { code: err.code, message: err.message });
      if (err instanceof KubeApiError)
        return sendJson(res, err.status >= 400 && err.status < 500 ? err.status : 502, {
          code: 'ROOST_CONSOLE_KUBE',
          message: err.message,
        });
      log.error({ err: errorMessage(err), path: req.url }, 'console request failed');
      sendJson(res, 500, {
        code: 'ROOST_CONSOLE_INTERNAL',
        message: 'The console failed to answer; see its log',
      });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 120_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    securityHeaders(res);
    if (path === '/healthz' || path === '/readyz') return sendText(res, 200, 'ok');
    if (path === '/login' && req.method === 'GET' && url.searchParams.has('ticket'))
      return limitedLogin(req, res, () => loginWithTicket(res, url.searchParams.get('ticket')!));
    if (path === '/login' && req.method === 'POST')
      return limitedLogin(req, res, () => loginWithToken(req, res));
    if (path === '/logout' && req.method === 'POST') {
      const session = sessions.fromRequest(req);
      if (session) sessions.delete(session.id);
      res.setHeader('set-cookie', `roost_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return sendJson(res, 200, { ok: true });
    }
    if (!path.startsWith('/api/')) return assets.serve(req, res, path);

    const session = sessions.fromRequest(req);
    if (!session)
      return sendJson(res, 401, {
        code: 'ROOST_CONSOLE_LOGIN',
        message: 'Log in first: run `roost console --open` for a login link',
      });
    if (req.method !== 'GET') checkSameOrigin(req);

    if (path === '/api/session' && req.method === 'GET')
      return sendJson(res, 200, { viewer: viewerName(session) });
    if (path === '/api/stream' && req.method === 'GET') return stream(req, res, session);
    const fn = /^\/api\/functions\/([a-z0-9-]{1,63})\/([a-z0-9.-]{1,253})(\/[a-z]+)?$/.exec(path);
    if (fn) return functionRequest(req, res, session, fn[1]!, fn[2]!, fn[3] ?? '', url);
    return sendJson(res, 404, {
      code: 'ROOST_CONSOLE_NOT_FOUND',
      message: `No such console path: ${path}`,
    });
  }

  /** A login attempt, refused while its client has failed too often; a 401 counts as a failure. */
  async function limitedLogin(
    req: IncomingMessage,
    res: ServerResponse,
    attempt: () => void | Promise<void>,
  ): Promise<void> {
    const client = req.socket.remoteAddress ?? 'unknown';
    const waitMs = loginLimiter.waitMs(client);
    if (waitMs > 0) {
      res.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
      return sendJson(res, 429, {
        code: 'ROOST_CONSOLE_LOGIN_LIMITED',
        message: `Too many failed logins; try again in ${Math.ceil(waitMs / 1000)} s`,
      });
    }
    await attempt();
    if (res.statusCode === 401) loginLimiter.failed(client);
  }

  function loginWithTicket(res: ServerResponse, ticket: string): void {
    try {
      tickets.redeem(ticket);
    } catch (err) {
      if (!(err instanceof LoginTicketError)) throw err;
      return sendText(res, 401, `${err.message}\n`);
    }
    const session = sessions.create({ kind: 'link' });
    res.setHeader('set-cookie', sessions.cookieFor(session, options.secureCookie));
    // The ticket leaves the address bar (and the browser's history) at once.
    res.writeHead(303, { location: '/' }).end();
  }

  async function loginWithToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkSameOrigin(req);
    const body = await readJson(req, MAX_JSON_BYTES);
    try {
      const principal = await access.authenticate(typeof body.token === 'string' ? body.token : '');
      const session = sessions.create(principal);
      res.setHeader('set-cookie', sessions.cookieFor(session, options.secureCookie));
      return sendJson(res, 200, { viewer: viewerName(session) });
    } catch (err) {
      if (err instanceof TokenRejectedError)
        return sendJson(res, 401, { code: err.code, message: err.message });
      throw err;
    }
  }

  /**
   * Starts a server-sent event stream on `res`, counted against MAX_STREAMS
   * and kept alive by pings; a client too slow to take what it is sent is
   * cut off rather than buffered without end. `onClose` runs once it ends.
   */
  function openEventStream(
    req: IncomingMessage,
    res: ServerResponse,
    onClose: () => void,
  ): { send(event: string, data: unknown): void } {
    if (streams.size >= MAX_STREAMS)
      throw new ConsoleRequestError(
        503,
        'ROOST_CONSOLE_BUSY',
        `The console serves ${MAX_STREAMS} open pages at most; close one`,
      );
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    streams.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), SSE_PING_MS);
    req.on('close', () => {
      clearInterval(ping);
      streams.delete(res);
      onClose();
    });
    return {
      send(event, data) {
        if (res.writableEnded) return;
        if (res.writableLength > MAX_STREAM_BUFFER_BYTES) return void res.end();
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
    };
  }

  async function stream(
    req: IncomingMessage,
    res: ServerResponse,
    session: Session,
  ): Promise<void> {
    let offChange = () => {};
    const events = openEventStream(req, res, () => offChange());
    let sending = false;
    let again = false;
    const sendSnapshot = async () => {
      if (sending) return void (again = true);
      sending = true;
      try {
        do {
          again = false;
          const snapshot = view.snapshot();
          const visible = await access.visible(session, snapshot.namespaces);
          events.send('snapshot', viewFor(snapshot, visible, viewerName(session)));
        } while (again);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'cannot send a snapshot');
      } finally {
        sending = false;
      }
    };
    offChange = view.onChange(() => void sendSnapshot());
    await sendSnapshot();
  }

  /** New log lines of one function as they are written, from every sidecar, until the page closes. */
  function tail(req: IncomingMessage, res: ServerResponse, query: LogQuery): void {
    let stop = () => {};
    const events = openEventStream(req, res, () => stop());
    stop = actions.followLogs(query, (line) => events.send('line', line));
  }

  async function functionRequest(
    req: IncomingMessage,
    res: ServerResponse,
    session: Session,
    namespace: string,
    name: string,
    verb: string,
    url: URL,
  ): Promise<void> {
    const require = async (action: ConsoleAction) => {
      if (!(await access.allows(session, action, namespace)))
        throw new ConsoleRequestError(
          403,
          'ROOST_CONSOLE_FORBIDDEN',
          `You may not ${ACTION_WORDS[action]} in namespace ${namespace}`,
        );
    };
    await require('list');
    if (options.namespace && namespace !== options.namespace)
      throw new ConsoleRequestError(
        404,
        'ROOST_CONSOLE_NOT_FOUND',
        `No function ${namespace}/${name}`,
      );
    const deployment = view.deployment(namespace, name);
    if (!deployment)
      throw new ConsoleRequestError(
        404,
        'ROOST_CONSOLE_NOT_FOUND',
        `No function ${namespace}/${name}`,
      );
    if (verb === '' && req.method === 'GET')
      return sendJson(res, 200, view.detail(namespace, name));
    if ((verb === '/logs' || verb === '/tail') && req.method === 'GET') {
      const q = url.searchParams;
      const number = (key: string) => (q.has(key) ? Number(q.get(key)) : undefined);
      const query: LogQuery = {
        namespace,
        deployment: name,
        requestId: q.get('requestId') ?? undefined,
        contains: q.get('contains') ?? undefined,
        level: q.get('level') || undefined,
        sinceMs: number('sinceMs'),
        limit: number('limit'),
      };
      if (verb === '/tail') return tail(req, res, query);
      return sendJson(res, 200, { lines: await actions.logs(query) });
    }
    if (verb === '/invoke' && req.method === 'POST') {
      await require('invoke');
      const form = readInvokeForm(await readJson(req, MAX_INVOKE_BODY_BYTES * 2));
      return sendJson(res, 200, await actions.invoke(namespace, name, form));
    }
    if (verb === '/traffic' && req.method === 'POST') {
      await require('route');
      const targets = await actions.setTraffic(
        namespace,
        name,
        await readJson(req, MAX_JSON_BYTES),
      );
      return sendJson(res, 200, { targets });
    }
    if (verb === '/scale' && req.method === 'POST') {
      await require('scale');
      const body = await readJson(req, MAX_JSON_BYTES);
      try {
        await actions.scale(namespace, name, body.replicas);
      } catch (err) {
        if (isNotFound(err))
          throw new ConsoleRequestError(
            404,
            'ROOST_CONSOLE_NOT_FOUND',
            `No function ${namespace}/${name}`,
          );
        throw err;
      }
      return sendJson(res, 200, { replicas: body.replicas });
    }
    throw new ConsoleRequestError(
      405,
      'ROOST_CONSOLE_METHOD',
      `${req.method} is not allowed on ${url.pathname}`,
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    view,
    figures,
    async stop() {
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      figures.stop();
      await view.stop();
    },
  };
}

function viewerName(session: Session): string {
  return session.principal.kind === 'link' ? 'login link' : session.principal.username;
}

/**
 * Browsers send Origin on every cross-site POST; with SameSite=Strict cookies
 * a forged request carries no session anyway, and this refuses it outright.
 */
function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ConsoleRequestError(
      403,
      'ROOST_CONSOLE_ORIGIN',
      'Refused: the Origin header is malformed',
    );
  }
  if (host !== req.headers.host)
    throw new ConsoleRequestError(
      403,
      'ROOST_CONSOLE_ORIGIN',
      `Refused: a request from ${origin} is not from the console`,
    );
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  // Everything is served from here: no external scripts, fonts or styles.
  res.setHeader(
    'content-security-policy',
    "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  );
}

/** A request's body, which every console action takes as one JSON object. */
async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
    throw new ConsoleRequestError(
      415,
      'ROOST_CONSOLE_BAD_REQUEST',
      'Send the request body as application/json',
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new ConsoleRequestError(
        413,
        'ROOST_CONSOLE_TOO_LARGE',
        `The request body is larger than ${limit} bytes`,
      );
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ConsoleRequestError(
      400,
      'ROOST_CONSOLE_BAD_REQUEST',
      'The request body is not valid JSON',
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ConsoleRequestError(
      400,
      'ROOST_CONSOLE_BAD_REQUEST',
      'The request body must be a JSON object',
    );
  return body as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
    .end(text);
}
