// The gateway as a user meets it with curl: the function URL contract, every
// error path with its code, per-function limits and fallback, asynchronous
// invocations with retries, CloudEvents, metrics and health.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import { SandboxDeployments, Sandboxes } from '../kube/api/resources.ts';
import type { FunctionSpec, SandboxDeployment } from '../kube/api/roost.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import type { LogEntry } from '../proto/sandbox-host.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

const FUNCTIONS: Record<
  string,
  { source: string; fn?: Partial<FunctionSpec>; spec?: Partial<SandboxDeployment['spec']> }
> = {
  echo: { source: `export const handler = async (event) => event;` },
  respond: {
    source: `export const handler = async (event) => {
      const q = event.queryStringParameters ?? {};
      if (q.binary) return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true, body: Buffer.from([0, 1, 254, 255]).toString('base64') };
      return { statusCode: Number(q.status ?? 200), headers: { 'content-type': 'text/plain', 'x-custom': 'yes' }, cookies: ['a=1; Path=/', 'b=2'], body: 'plain text' };
    };`,
  },
  fails: {
    source: `export const handler = async () => { throw new TypeError('bad input here'); };`,
  },
  slow: {
    source: `export const handler = async () => { await new Promise((r) => setTimeout(r, 3000)); return 'late'; };`,
    fn: { timeoutSeconds: 1 },
  },
  limited: {
    source: `export const handler = async () => 'ok';`,
    spec: { gateway: { rateLimit: { requestsPerSecond: 0.2, burst: 2 } } },
  },
  degraded: {
    source: `export const handler = async () => { throw new Error('down'); };`,
    spec: {
      gateway: {
        fallback: {
          statusCode: 200,
          headers: { 'content-type': 'text/plain' },
          body: 'served from fallback',
        },
      },
    },
  },
  small: {
    source: `export const handler = async (e) => e.body?.length ?? 0;`,
    spec: { gateway: { maxBodyBytes: 1024 } },
  },
  single: {
    source: `export const handler = async () => { await new Promise((r) => setTimeout(r, 1500)); return 'one at a time'; };`,
    spec: { gateway: { maxConcurrency: 1 } },
  },
  flaky: {
    source: `const attempts = new Map();
      export const handler = async (event, context) => {
        const n = (attempts.get(context.awsRequestId) ?? 0) + 1;
        attempts.set(context.awsRequestId, n);
        console.log('attempt ' + n);
        if (n < 3) throw new Error('not yet');
        return 'finally';
      };`,
    spec: { async: { retryDelaySeconds: 1 } },
  },
  nobody: { source: `export const handler = async () => 'never';`, spec: { replicas: 0 } },
  broken: { source: `export const handler = async () => { return 'unclosed';` },
};
/** Functions that never become ready, by design. */
const NEVER_READY = new Set(['nobody', 'broken']);

beforeAll(async () => {
  namespace = await createNamespace(client, 'gateway');
  system = await startRoostSystem({
    namespace,
    gatewayArgs: ['--activation-wait=2s'],
  });
  for (const [name, { source, fn, spec }] of Object.entries(FUNCTIONS)) {
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
              memoryMiB: 64,
              concurrency: 4,
              code: { inline: { files: { 'index.mjs': source } } },
              ...fn,
            },
          },
        },
      },
    });
  }
  for (const name of Object.keys(FUNCTIONS).filter((n) => !NEVER_READY.has(n))) {
    await eventually(
      async () =>
        (await client.get(SandboxDeployments, { namespace, name })).status?.readyReplicas === 1,
      { what: `${name} to be ready`, timeoutMs: 60_000 },
    );
  }
  // The gateway learns about endpoints from its own watch.
  await eventually(async () => (await fetch(url('echo'))).status === 200, {
    what: 'the gateway to route',
  });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

const url = (name: string, path = '') => system.functionUrl(name, path);

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  const body = (await response.json()) as {
    error: { code: string; message: string; requestId: string };
  };
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toBe(response.headers.get('x-roost-request-id'));
  return body.error;
}

describe('the function URL contract', () => {
  test('method, path, query, headers, cookies and a JSON body reach the function as the payload 2.0 event', async () => {
    const response = await fetch(url('echo', '/orders/7?expand=items&tag=a&tag=b'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-trace': 'abc',
        cookie: 'session=s1; theme=dark',
      },
      body: JSON.stringify({ qty: 2 }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-roost-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const event = (await response.json()) as { headers: Record<string, string> };
    expect(event).toMatchObject({
      version: '2.0',
      rawPath: '/orders/7',
      rawQueryString: 'expand=items&tag=a&tag=b',
      queryStringParameters: { expand: 'items', tag: 'a,b' },
      cookies: ['session=s1', 'theme=dark'],
      body: '{"qty":2}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/orders/7' }, requestId },
    });
    expect(event.headers['x-trace']).toBe('abc');
  });

  test('a binary request body arrives base64 and a text one as text', async () => {
    const binary = (await (
      await fetch(url('echo'), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array([0, 159, 146, 150]),
      })
    ).json()) as Record<string, unknown>;
    expect(binary).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from([0, 159, 146, 150]).toString('base64'),
    });
    const text = (await (
      await fetch(url('echo'), {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'héllo',
      })
    ).json()) as Record<string, unknown>;
    expect(text).toMatchObject({ isBase64Encoded: false, body: 'héllo' });
  });

  test('a structured result sets status, headers, cookies and body; a binary one is decoded', async () => {
    const response = await fetch(url('respond', '?status=201'));
    expect(response.status).toBe(201);
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(await response.text()).toBe('plain text');
    const binary = await fetch(url('respond', '?binary=1'));
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  test('a plain value becomes a 200 JSON response', async () => {
    const response = await fetch(url('limited'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toBe('ok');
  });
});

describe('errors, each with its status and stable code', () => {
  test('unknown function: 404', async () => {
    const error = await expectError(
      await fetch(url('no-such-function')),
      404,
      'ROOST_FUNCTION_NOT_FOUND',
    );
    expect(error.message).toContain(`${namespace}/no-such-function`);
  });

  test('malformed route: 400', async () => {
    await expectError(
      await fetch(`${system.gateway.url}/fn/Not_A_Namespace/x`),
      400,
      'ROOST_BAD_REQUEST',
    );
  });

  test('payload over the limit: 413', async () => {
    await expectError(
      await fetch(url('small'), { method: 'POST', body: 'x'.repeat(2048) }),
      413,
      'ROOST_PAYLOAD_TOO_LARGE',
    );
    expect(
      await (
        await fetch(url('small'), {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: 'x'.repeat(100),
        })
      ).json(),
    ).toBe(100);
  });

  test('the function threw: 502 with x-roost-function-error: Unhandled and its error', async () => {
    const response = await fetch(url('fails'));
    expect(response.status).toBe(502);
    expect(response.headers.get('x-roost-function-error')).toBe('Unhandled');
    const body = (await response.json()) as {
      errorType: string;
      errorMessage: string;
      trace: string[];
    };
    expect(body).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad input here' });
  });

  test('timeout: 504', async () => {
    const started = Date.now();
    await expectError(await fetch(url('slow')), 504, 'ROOST_FUNCTION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  test('rate limit: 429 with Retry-After once the burst is spent', async () => {
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await fetch(url('limited'))).status);
    expect(codes.slice(0, 2).every((c) => c === 200 || c === 429)).toBe(true);
    const limited = await fetch(url('limited'));
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(limited, 429, 'ROOST_RATE_LIMITED');
  });

  test('over the gateway concurrency limit: 429', async () => {
    const first = fetch(url('single'));
    await new Promise((r) => setTimeout(r, 200));
    const second = await fetch(url('single'));
    await expectError(second, 429, 'ROOST_OVERLOADED');
    expect((await first).status).toBe(200);
  });

  test('no capacity after the activator waited: 503', async () => {
    const started = Date.now();
    const error = await expectError(await fetch(url('nobody')), 503, 'ROOST_NO_CAPACITY');
    expect(error.message).toContain('no ready instance');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  test('a function whose code cannot load: its deployment says why, and a request is answered 502 at once', async () => {
    const deployment = await eventually(
      async () => {
        const d = await client.get(SandboxDeployments, { namespace, name: 'broken' });
        return d.status?.conditions?.find((c) => c.type === 'ReplicaFailure') ? d : undefined;
      },
      { what: 'broken to show ReplicaFailure', timeoutMs: 30_000 },
    );
    const condition = deployment.status!.conditions!.find((c) => c.type === 'ReplicaFailure')!;
    expect(condition).toMatchObject({ status: 'True', reason: 'FunctionLoadFailed' });
    expect(condition.message).toContain('SyntaxError');

    const started = Date.now();
    const error = await expectError(await fetch(url('broken')), 502, 'ROOST_FUNCTION_CANNOT_START');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.message).toContain('FunctionLoadFailed');
    expect(error.message).toContain('SyntaxError');
  });

  test('a failing function with a fallback answers the fallback instead of a 5xx', async () => {
    const response = await fetch(url('degraded'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-roost-fallback')).toBe('true');
    expect(response.headers.get('x-roost-error-code')).toBe('ROOST_FUNCTION_ERROR');
    expect(await response.text()).toBe('served from fallback');
  });
});

test('an asynchronous invocation is answered 202 at once and retried until it succeeds', async () => {
  const started = Date.now();
  const response = await fetch(url('flaky'), {
    method: 'POST',
    headers: { 'x-roost-invocation-type': 'Event' },
    body: '{}',
  });
  expect(response.status).toBe(202);
  expect(Date.now() - started).toBeLessThan(500);
  const { requestId } = (await response.json()) as { requestId: string };
  expect(requestId).toBe(response.headers.get('x-roost-request-id'));
  const sandbox = (
    await client.list(Sandboxes, {
      namespace,
      labelSelector: 'roost.dev/deployment=flaky',
    })
  ).items[0]!;
  const sidecar = new SandboxHostConnection(sandbox.status!.address!, system.hosts.token);
  try {
    const lines = await eventually(
      async () => {
        const found: LogEntry[] = [];
        await new Promise<void>((resolve, reject) => {
          const stream = sidecar.logs({ namespace, requestId });
          stream.on('data', (line: LogEntry) => found.push(line));
          stream.on('end', resolve);
          stream.on('error', reject);
        });
        const attempts = found.filter((l) => l.message.startsWith('attempt'));
        return attempts.length >= 3 ? attempts : undefined;
      },
      { what: 'three attempts', timeoutMs: 10_000 },
    );
    expect(lines.map((l) => l.message)).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
  } finally {
    sidecar.close();
  }
});

describe('CloudEvents', () => {
  test('binary mode: ce-* headers and the body as data', async () => {
    const response = await fetch(url('echo'), {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'evt-1',
        'ce-source': '/orders',
        'ce-type': 'order.created',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ order: 42 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      specversion: '1.0',
      id: 'evt-1',
      source: '/orders',
      type: 'order.created',
      data: { order: 42 },
    });
  });

  test('structured mode: the whole event as application/cloudevents+json', async () => {
    const event = {
      specversion: '1.0',
      id: 'evt-2',
      source: '/billing',
      type: 'invoice.paid',
      datacontenttype: 'application/json',
      data: { amount: 9 },
    };
    const response = await fetch(url('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    });
    expect(await response.json()).toMatchObject(event);
  });

  test('a malformed CloudEvent is refused with 400', async () => {
    const response = await fetch(url('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ id: 'x' }),
    });
    const error = await expectError(response, 400, 'ROOST_BAD_REQUEST');
    expect(error.message).toContain('source is missing ("source")');
    expect(error.message).not.toContain('schemaPath');
  });
});

test('metrics, health and readiness; metrics only with the invoke token', async () => {
  expect(await (await fetch(`${system.gateway.url}/healthz`)).text()).toBe('ok\n');
  expect((await fetch(`${system.gateway.url}/readyz`)).status).toBe(200);
  const anonymous = await fetch(`${system.gateway.url}/metrics`);
  expect(anonymous.status).toBe(401);
  expect(await anonymous.text()).not.toContain('roost_gateway');
  const metrics = await (
    await fetch(`${system.gateway.url}/metrics`, {
      headers: { authorization: `Bearer ${system.hosts.token}` },
    })
  ).text();
  expect(metrics).toMatch(
    new RegExp(
      `roost_gateway_requests_total\\{namespace="${namespace}",function="echo",code="200"\\} \\d+`,
    ),
  );
  expect(metrics).toMatch(
    new RegExp(
      `roost_gateway_requests_total\\{namespace="${namespace}",function="fails",code="502"\\} \\d+`,
    ),
  );
  expect(metrics).toContain('roost_gateway_request_duration_seconds_bucket');
  expect(metrics).toContain('# TYPE roost_gateway_inflight gauge');
  expect(metrics).toContain('# TYPE roost_gateway_cold_start_duration_seconds histogram');
});
