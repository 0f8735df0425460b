// The gateway under clients that misbehave, with real sockets on loopback
// against a real `roost gateway` with small limits: limits that hold before a
// body is read, a memory budget for bodies, a connection cap, deadlines for
// slow clients, a bound on held requests, and strict CloudEvents. Each test
// asserts what the client sees (status, code, when the connection closes)
// and that well-behaved requests are still served.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SandboxDeployments } from '../kube/api/resources.ts';
import type { SandboxDeploymentSpec } from '../kube/api/roost.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { openSocket, rawExchange, requestHead } from './support/raw-http.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

const MiB = 1024 * 1024;
const LIMITS = {
  maxConnections: 60,
  headerTimeoutMs: 1000,
  requestTimeoutMs: 3000,
  keepAliveTimeoutMs: 1000,
  bodyMemoryMiB: 40,
  maxHeldPerFunction: 3,
  // Long enough to see the held requests even on a busy machine.
  activationWaitMs: 6000,
};

const FUNCTIONS: Record<
  string,
  { source: string; spec?: Partial<SandboxDeploymentSpec>; memoryMiB?: number }
> = {
  size: {
    source: `export const handler = async (e) => ({ bytes: e.body ? Buffer.from(e.body, e.isBase64Encoded ? 'base64' : 'utf8').length : 0 });`,
    // A 6 MiB upload arrives as an 8 MB base64 event: room for it and its decoding.
    memoryMiB: 256,
  },
  echo: { source: `export const handler = async (e) => e;` },
  limited: {
    source: `export const handler = async () => 'ok';`,
    spec: { gateway: { rateLimit: { requestsPerSecond: 0.1, burst: 1 } } },
  },
  narrow: {
    source: `export const handler = async () => { await new Promise((r) => setTimeout(r, 2000)); return 'ok'; };`,
    spec: { gateway: { maxConcurrency: 1 } },
  },
  wide: {
    source: `export const handler = async () => 'ok';`,
    spec: { gateway: { maxBodyBytes: 32 * MiB } },
  },
  cold: { source: `export const handler = async () => 'never';`, spec: { replicas: 0 } },
};

const url = (name: string) => system.functionUrl(name);
const path = (name: string) => new URL(url(name)).pathname;

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, ...body.error };
}

/** A gateway endpoint outside /fn/, which asks for the invoke token. */
function internal(pathname: string): Promise<Response> {
  return fetch(`${system.gateway.url}${pathname}`, {
    headers: { authorization: `Bearer ${system.hosts.token}` },
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await internal('/metrics')).text();
  const match = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return Number(match?.[1]);
}

beforeAll(async () => {
  namespace = await createNamespace(client, 'abuse');
  system = await startRoostSystem({
    namespace,
    gatewayArgs: [
      `--max-connections=${LIMITS.maxConnections}`,
      `--header-timeout=${LIMITS.headerTimeoutMs}ms`,
      `--request-timeout=${LIMITS.requestTimeoutMs}ms`,
      `--keep-alive-timeout=${LIMITS.keepAliveTimeoutMs}ms`,
      `--body-memory-mib=${LIMITS.bodyMemoryMiB}`,
      `--max-held-per-function=${LIMITS.maxHeldPerFunction}`,
      `--activation-wait=${LIMITS.activationWaitMs}ms`,
    ],
  });
  for (const [name, { source, spec, memoryMiB }] of Object.entries(FUNCTIONS)) {
    await client.create(SandboxDeployments, {
      metadata: { name, namespace },
      spec: {
        replicas: 1,
        ...spec,
        template: {
          spec: {
            function: {
              runtime: 'nodejs',
              handler: 'index.handler',
              memoryMiB: memoryMiB ?? 64,
              concurrency: 4,
              code: { inline: { files: { 'index.mjs': source } } },
            },
          },
        },
      },
    });
  }
  for (const name of Object.keys(FUNCTIONS).filter((n) => n !== 'cold')) {
    await eventually(
      async () =>
        (await client.get(SandboxDeployments, { namespace, name })).status?.readyReplicas === 1,
      { what: `${name} to be ready`, timeoutMs: 60_000 },
    );
  }
  await eventually(async () => (await fetch(url('size'))).status === 200, {
    what: 'the gateway to route',
  });
}, 120_000);

afterAll(async () => {
  await system?.stop();
  client.close();
});

describe('limits apply before the body is read', () => {
  test('over the rate limit: 429 at once for a request that has sent only its headers', async () => {
    expect((await fetch(url('limited'))).status).toBe(200);
    const outcome = await rawExchange(
      system.gateway.url,
      [requestHead(path('limited'), { 'content-length': 5 * MiB })],
      { capMs: 2500, untilResponse: true },
    );
    expect(outcome.statusLine).toBe('HTTP/1.1 429 Too Many Requests');
    expect(outcome.text).toContain('ROOST_RATE_LIMITED');
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.requestTimeoutMs);
  });

  test('over the concurrency limit: 429 at once for a request that has sent only its headers', async () => {
    const first = fetch(url('narrow'));
    await eventually(
      async () =>
        (await (await internal('/metrics')).text()).includes(
          `roost_gateway_inflight{namespace="${namespace}",function="narrow"} 1`,
        ),
      { what: 'the first request in flight' },
    );
    const outcome = await rawExchange(
      system.gateway.url,
      [requestHead(path('narrow'), { 'content-length': 5 * MiB })],
      { capMs: 2500, untilResponse: true },
    );
    expect(outcome.statusLine).toBe('HTTP/1.1 429 Too Many Requests');
    expect(outcome.text).toContain('ROOST_OVERLOADED');
    expect((await first).status).toBe(200);
  });
});

describe('a memory budget for request bodies', () => {
  test(`uploads that would take more than the ${LIMITS.bodyMemoryMiB} MiB budget are refused with 503 and Retry-After, and the memory is given back`, async () => {
    // Two uploads that declare 6 MiB each and send nothing more hold 36 MiB of
    // the budget (3 bytes of memory per byte of body); a third does not fit.
    const holders = await Promise.all([1, 2].map(() => openSocket(system.gateway.url)));
    for (const socket of holders) {
      socket.on('error', () => undefined);
      socket.write(requestHead(path('size'), { 'content-length': 6 * MiB }));
    }
    try {
      await eventually(async () => (await metric('roost_gateway_body_memory_bytes')) === 36 * MiB, {
        what: '36 MiB held for bodies',
        timeoutMs: 2000,
      });
      const refused = await fetch(url('size'), { method: 'POST', body: Buffer.alloc(6 * MiB) });
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await errorOf(refused)).toMatchObject({ status: 503, code: 'ROOST_GATEWAY_BUSY' });
    } finally {
      for (const socket of holders) socket.destroy();
    }
    await eventually(async () => (await metric('roost_gateway_body_memory_bytes')) === 0, {
      what: 'the budget given back',
      timeoutMs: 3000,
    });
    const served = await fetch(url('size'), { method: 'POST', body: Buffer.alloc(6 * MiB, 1) });
    expect(await served.json()).toEqual({ bytes: 6 * MiB });
    expect(await metric('roost_gateway_body_memory_bytes')).toBe(0);
  });

  test('a body larger than the whole budget is refused with 413 before it is read', async () => {
    const outcome = await rawExchange(
      system.gateway.url,
      [requestHead(path('wide'), { 'content-length': 20 * MiB })],
      { capMs: 2500, untilResponse: true },
    );
    expect(outcome.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(outcome.text).toContain(
      `The request body of ${20 * MiB} bytes needs more memory than this gateway holds for all bodies at once (40 MiB)`,
    );
  });
});

describe('connections and slow clients', () => {
  test(`of 100 connections that send nothing, at most ${LIMITS.maxConnections} are kept, none past the header timeout, and others are served`, async () => {
    const outcomes = Promise.all(
      Array.from({ length: 100 }, () => rawExchange(system.gateway.url, [], { capMs: 5000 })),
    );
    const all = await outcomes;
    expect(all.every((o) => o.closedByServer)).toBe(true);
    const dropped = all.filter((o) => o.statusLine === undefined);
    const timedOut = all.filter((o) => o.statusLine === 'HTTP/1.1 408 Request Timeout');
    expect(dropped.length).toBeGreaterThanOrEqual(100 - LIMITS.maxConnections);
    expect(dropped.length + timedOut.length).toBe(100);
    expect(Math.max(...timedOut.map((o) => o.closedAfterMs))).toBeLessThan(
      LIMITS.headerTimeoutMs + 4000,
    );
    expect((await fetch(url('size'))).status).toBe(200);
    expect(await metric('roost_gateway_connections')).toBeLessThanOrEqual(2);
  });

  test('headers sent a byte at a time (slowloris) get 408 at the header timeout', async () => {
    const head = requestHead(path('size'), {}, 'GET');
    const slow = rawExchange(system.gateway.url, [...head], { gapMs: 200, capMs: 6000 });
    // Meanwhile, others are served.
    expect((await fetch(url('size'))).status).toBe(200);
    const outcome = await slow;
    expect(outcome.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.headerTimeoutMs + 4000);
  });

  test('a body sent a byte at a time gets 408 at the request timeout', async () => {
    const outcome = await rawExchange(
      system.gateway.url,
      [requestHead(path('size'), { 'content-length': 100 }), ...'x'.repeat(100)],
      { gapMs: 200, capMs: 8000 },
    );
    expect(outcome.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 100);
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.requestTimeoutMs + 4000);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const outcome = await rawExchange(system.gateway.url, [requestHead(path('size'), {}, 'GET')], {
      capMs: 5000,
    });
    expect(outcome.statusLine).toBe('HTTP/1.1 200 OK');
    expect(outcome.text).toContain(`Keep-Alive: timeout=${LIMITS.keepAliveTimeoutMs / 1000}`);
    expect(outcome.closedByServer).toBe(true);
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.keepAliveTimeoutMs + 4000);
  });
});

test(`requests held for a function with no ready Sandbox are bounded: the ${LIMITS.maxHeldPerFunction + 1}th is refused at once`, async () => {
  const held = Array.from({ length: LIMITS.maxHeldPerFunction }, () => fetch(url('cold')));
  try {
    await eventually(async () => (await heldCount()) === LIMITS.maxHeldPerFunction, {
      what: 'the first requests held',
      timeoutMs: LIMITS.activationWaitMs,
    });
  } catch (err) {
    // Say how the requests that should be held ended instead.
    const ended = await Promise.all(
      held.map((p) => p.then(async (r) => `${r.status} ${await r.text()}`, String)),
    );
    throw new Error(`${(err as Error).message}; the requests ended: ${ended.join(' | ')}`, {
      cause: err,
    });
  }
  const started = Date.now();
  const refused = await fetch(url('cold'));
  expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'ROOST_OVERLOADED' });
  expect(Date.now() - started).toBeLessThan(LIMITS.activationWaitMs / 2);
  for (const response of await Promise.all(held))
    expect(await errorOf(response)).toMatchObject({ status: 503, code: 'ROOST_NO_CAPACITY' });
});

async function heldCount(): Promise<number> {
  const report = (await (await internal('/internal/concurrency')).json()) as {
    functions: { namespace: string; name: string; held: number }[];
  };
  // The gateway routes every namespace: other test files have a "cold" too.
  return report.functions.find((f) => f.namespace === namespace && f.name === 'cold')?.held ?? 0;
}

describe('strict CloudEvents: 400 naming the attribute', () => {
  const ce = (headers: Record<string, string | undefined>) =>
    fetch(url('echo'), {
      method: 'POST',
      headers: Object.fromEntries(
        Object.entries({
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': 'evt-1',
          'ce-source': '/orders',
          'ce-type': 'order.created',
          ...headers,
        }).filter((e): e is [string, string] => e[1] !== undefined),
      ),
      body: '{"order":42}',
    });

  test.each([
    ['no ce-id', { 'ce-id': undefined }, 'id is missing (header ce-id)'],
    ['specversion 9.9', { 'ce-specversion': '9.9' }, 'specversion "9.9" is not supported'],
    [
      'a ce-time that is no time',
      { 'ce-time': 'yesterday' },
      'time "yesterday" is not an RFC 3339',
    ],
  ])('%s', async (_name, headers, message) => {
    const error = await errorOf(await ce(headers));
    expect(error).toMatchObject({ status: 400, code: 'ROOST_BAD_REQUEST' });
    expect(error.message).toContain(message);
  });

  test('a valid event keeps its id and time; specversion 0.3 is read', async () => {
    const event = (await (await ce({ 'ce-time': '2026-01-31T12:00:00Z' })).json()) as Record<
      string,
      unknown
    >;
    expect(event).toMatchObject({ id: 'evt-1', time: '2026-01-31T12:00:00.000Z' });
    expect((await ce({ 'ce-specversion': '0.3' })).status).toBe(200);
  });

  test('JSON nested 5000 deep or malformed is a 400, not a 500', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    for (const body of [
      `{"specversion":"1.0","id":"1","source":"s","type":"t","data":${deep}}`,
      '{"specversion":"1.0","id":',
    ]) {
      const response = await fetch(url('echo'), {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body,
      });
      expect(await errorOf(response)).toMatchObject({ status: 400, code: 'ROOST_BAD_REQUEST' });
    }
  });
});
