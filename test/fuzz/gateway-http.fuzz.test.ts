// Fuzz: a live `roost gateway` (a real process, with a host pod and an echo
// function behind it) sent requests built from what a client controls:
// method, path, qualifier, headers (CloudEvents attributes, content types,
// aliases, invocation types), query and body, on both the function URL and
// the Invoke API. No answer is a 5xx, a request the function answered comes
// back with its body byte for byte, and afterwards the gateway still serves.
import fc from 'fast-check';
import { request } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminClient, createNamespace } from '../support/cluster.ts';
import { deployNodeFunction } from '../support/deployments.ts';
import { startRoostSystem, type RoostSystem } from '../support/roost-system.ts';
import { hostileJson, nastyText } from './support/arbitraries.ts';
import { fuzz } from './support/budget.ts';

const client = adminClient();
let namespace = '';
let system: RoostSystem;

beforeAll(async () => {
  namespace = await createNamespace(client, 'fuzz-http');
  system = await startRoostSystem({
    namespace,
    hosts: [{ name: 'host-1' }],
    gatewayArgs: [`--invoke-api-namespace=${namespace}`],
  });
  await deployNodeFunction(client, {
    namespace,
    name: 'echo',
    source: 'export const handler = async (event) => ({ echo: event });',
  });
}, 180_000);

afterAll(async () => {
  await system?.stop();
  client.close();
});

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function send(sent: Sent): Promise<{ status: number; body: Buffer }> {
  const { hostname, port } = new URL(system.gateway.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: sent.method,
        path: sent.path,
        // Node frames a DELETE or OPTIONS body with neither Content-Length nor chunking, so the
        // bytes would reach the gateway as the start of a next request; a real client frames it.
        headers:
          sent.body.length > 0
            ? { ...sent.headers, 'content-length': String(sent.body.length) }
            : sent.headers,
        timeout: 15_000,
        // A connection of its own: the gateway may close one whose request body it did not read.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 15 s')));
    req.on('error', reject);
    req.end(sent.body);
  });
}

const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 30,
});
const pathText = fc.string({
  unit: fc.constantFrom(
    'a',
    'e',
    'c',
    'h',
    'o',
    '/',
    '@',
    '%',
    '2',
    'F',
    '.',
    '-',
    '?',
    '&',
    '=',
    '$',
    ':',
    '~',
  ),
  maxLength: 20,
});

const requests: fc.Arbitrary<Sent> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    path: fc.oneof(
      pathText.map((tail) => `/fn/${namespace}/echo${tail}`),
      fc
        .tuple(fc.constantFrom('', '@1', '@$LATEST', '@live', '@x'), pathText)
        .map(([q, tail]) => `/fn/${namespace}/echo${q}/${tail}`),
      fc
        .tuple(
          fc.constantFrom(
            'echo',
            `${namespace}:function:echo`,
            'arn:aws:lambda:r:x:function:echo',
            'echo:1',
            '%zz',
          ),
          pathText,
        )
        .map(
          ([name, tail]) =>
            `/2015-03-31/functions/${encodeURIComponent(name)}/invocations${tail.startsWith('?') ? tail : ''}`,
        ),
      pathText.map((p) => `/${p}`),
      nastyText.map((t) => `/fn/${encodeURIComponent(t)}`),
    ),
    headers: fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'content-type',
          'ce-specversion',
          'ce-id',
          'ce-source',
          'ce-type',
          'ce-time',
          'x-roost-alias',
          'x-roost-invocation-type',
          'x-amz-invocation-type',
          'x-amz-log-type',
          'x-amz-client-context',
          'authorization',
          'cookie',
          'accept-encoding',
          'expect',
        ),
        fc.stringMatching(/^x-[a-z0-9-]{1,10}$/),
      ),
      fc.oneof(
        headerValue,
        fc.constantFrom(
          'application/json',
          'application/cloudevents+json',
          'text/plain',
          '1.0',
          'Event',
          'RequestResponse',
          'Tail',
          '100-continue',
        ),
      ),
      { maxKeys: 6 },
    ),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      hostileJson(4).map((v) => Buffer.from(JSON.stringify(v))),
      fc.nat(300).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))),
    ),
  })
  // Node sends no body with these, and `expect: 100-continue` waits for an answer it never asks for.
  .map((r) => ({ ...r, headers: { ...r.headers, ...(r.headers.expect ? { expect: '' } : {}) } }))
  .map((r) => ({
    ...r,
    body: r.method === 'GET' || r.method === 'HEAD' ? Buffer.alloc(0) : r.body,
  }));

test('no request a client can build makes the gateway answer 5xx, and what the function answered comes back intact', async () => {
  const statuses = new Map<number, number>();
  await fuzz(
    'gateway over HTTP',
    fc.asyncProperty(requests, async (sent) => {
      const { status, body } = await send(sent);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(
        status,
        `${sent.method} ${sent.path} ${JSON.stringify(sent.headers)}: ${body.toString().slice(0, 300)}`,
      ).toBeLessThan(500);
      const isCloudEvent =
        Object.keys(sent.headers).some((h) => h.startsWith('ce-')) ||
        sent.headers['content-type']?.startsWith('application/cloudevents');
      if (
        status === 200 &&
        sent.path.startsWith(`/fn/`) &&
        !isCloudEvent &&
        sent.method !== 'HEAD'
      ) {
        const event = (
          JSON.parse(body.toString()) as { echo: { body?: string; isBase64Encoded: boolean } }
        ).echo;
        const received =
          event.body === undefined
            ? Buffer.alloc(0)
            : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
        expect(received.equals(sent.body)).toBe(true);
      }
    }),
    { share: 2 },
  );
  console.log(`fuzz gateway over HTTP: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  expect(system.gateway.process.exit).toBeUndefined();
  const after = await fetch(system.functionUrl('echo'), { method: 'POST', body: 'still here' });
  expect(after.status).toBe(200);
});
