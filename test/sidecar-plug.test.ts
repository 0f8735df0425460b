// Plugging Sandboxes into a real host pod: code from every source, the Lambda
// function contract, and failures that stay with the Sandbox that has them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import {
  inlineSandbox,
  json,
  parse,
  tarball,
  waitForStatus,
  waitUntilReady,
} from './support/sandboxes.ts';
import { ConfigMaps, Sandboxes } from '../kube/api/resources.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;
let server: Server;
let serverUrl: string;
const served = new Map<string, Buffer>();

beforeAll(async () => {
  namespace = await createNamespace(client, 'plug');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({ name: 'host-plug' });
  sidecar = hosts.connect(host.address);
  server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await hosts?.stop();
  server?.close();
});

async function invoke(sandbox: string, event: unknown = {}, requestId = `req-${sandbox}`) {
  const response = await sidecar.invoke({ namespace, sandbox, requestId, payload: json(event) });
  return { ...response, value: response.result.length ? parse(response.result) : undefined };
}

const GREETER = `export const handler = async (event, context) => ({ hello: event.name, requestId: context.awsRequestId });`;

describe('code sources', () => {
  test('inline code becomes Ready and answers Invoke', async () => {
    await client.create(Sandboxes, inlineSandbox(namespace, 'inline', host.name, GREETER));
    const status = await waitUntilReady(client, namespace, 'inline');
    expect(status).toMatchObject({
      podName: host.name,
      podIP: host.ip,
      address: host.address,
      restartCount: 0,
    });
    expect(status.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Scheduled=True',
      'CodeReady=True',
      'Ready=True',
    ]);
    expect(status.startTime).toBeDefined();
    const response = await invoke('inline', { name: 'inline' }, 'r-1');
    expect(response.error).toBe('FUNCTION_ERROR_NONE');
    expect(response.value).toEqual({ hello: 'inline', requestId: 'r-1' });
  });

  test('a ConfigMap tarball becomes Ready, and two Sandboxes of it share one copy on disk', async () => {
    const { bytes } = await tarball({
      'lib/greet.cjs': 'module.exports.greet = (n) => `hi ${n}`;',
      'main.cjs': `const { greet } = require('./lib/greet.cjs'); module.exports.handler = async (e) => greet(e.name);`,
    });
    await client.create(ConfigMaps, {
      metadata: { name: 'greeter-code', namespace },
      immutable: true,
      binaryData: { 'code.tgz': bytes.toString('base64') },
    });
    for (const name of ['from-cm-1', 'from-cm-2']) {
      await client.create(Sandboxes, {
        metadata: { name, namespace },
        spec: {
          podName: host.name,
          function: {
            runtime: 'nodejs',
            handler: 'main.handler',
            code: { configMap: { name: 'greeter-code' } },
          },
        },
      });
    }
    await waitUntilReady(client, namespace, 'from-cm-1');
    await waitUntilReady(client, namespace, 'from-cm-2');
    expect((await invoke('from-cm-1', { name: 'cm' })).value).toBe('hi cm');
    expect((await invoke('from-cm-2', { name: 'cm2' })).value).toBe('hi cm2');
    const codeDirs = readdirSync(join(hostDataDir(), 'code')).filter(
      (d) => !d.startsWith('.') && !d.startsWith('inline-'),
    );
    expect(codeDirs).toHaveLength(1);
  });

  test('code from a url with the right sha256 becomes Ready', async () => {
    const { bytes, sha256 } = await tarball({
      'index.js': `exports.handler = async () => 'from url';`,
    });
    served.set('/good.tgz', bytes);
    await client.create(Sandboxes, {
      metadata: { name: 'from-url', namespace },
      spec: {
        podName: host.name,
        function: {
          runtime: 'nodejs',
          handler: 'index.handler',
          code: { url: { url: `${serverUrl}/good.tgz`, sha256 } },
        },
      },
    });
    await waitUntilReady(client, namespace, 'from-url');
    expect((await invoke('from-url')).value).toBe('from url');
  });
});

describe('failures stay with their Sandbox', () => {
  test.each([
    [
      'a wrong sha256',
      'bad-sha',
      async () => ({ url: { url: `${serverUrl}/good.tgz`, sha256: 'a'.repeat(64) } }),
      'CodeDigestMismatch',
      /sha256 mismatch .* want a{64}, got [0-9a-f]{64}/,
    ],
    [
      'a url that answers 404',
      'missing-url',
      async () => ({ url: { url: `${serverUrl}/missing.tgz`, sha256: 'b'.repeat(64) } }),
      'CodeFetchFailed',
      /HTTP 404/,
    ],
    [
      'a syntax error',
      'syntax-error',
      async () => ({ inline: { files: { 'index.mjs': 'export const handler = async () => {;' } } }),
      'FunctionLoadFailed',
      /SyntaxError/,
    ],
    [
      'a missing export',
      'no-export',
      async () => ({ inline: { files: { 'index.mjs': 'export const other = 1;' } } }),
      'FunctionLoadFailed',
      /does not export a function named handler/,
    ],
    [
      'a missing ConfigMap',
      'no-configmap',
      async () => ({ configMap: { name: 'does-not-exist' } }),
      'CodeFetchFailed',
      /ConfigMap .*does-not-exist not found/,
    ],
  ])(
    '%s leaves that Sandbox Failed with a reason and message',
    async (_, name, code, reason, message) => {
      await client.create(Sandboxes, {
        metadata: { name, namespace },
        spec: {
          podName: host.name,
          function: { runtime: 'nodejs', handler: 'index.handler', code: await code() },
        },
      });
      const status = await waitForStatus(
        client,
        namespace,
        name,
        (s) => s.phase === 'Failed',
        `${name} to fail`,
      );
      expect(status.reason).toBe(reason);
      expect(status.message).toMatch(message);
      expect(status.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'False',
        reason,
      });
      // Its neighbour on the same pod keeps serving.
      expect((await invoke('inline', { name: 'neighbour' })).value).toMatchObject({
        hello: 'neighbour',
      });
    },
  );

  test('invoking a Sandbox that failed to plug is refused before it reaches any function', async () => {
    await expect(invoke('syntax-error')).rejects.toMatchObject({ code: 5 /* NOT_FOUND */ });
  });
});

describe('the function contract', () => {
  test('module.exports.handler, callback style and the Lambda context', async () => {
    const source = `module.exports.handler = (event, context, callback) => {
      setTimeout(() => callback(null, {
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        memoryLimitInMB: context.memoryLimitInMB,
        remaining: context.getRemainingTimeInMillis(),
        requestId: context.awsRequestId,
      }), 5);
    };`;
    await client.create(Sandboxes, {
      metadata: { name: 'callback', namespace, labels: { 'roost.dev/deployment': 'my-fn' } },
      spec: {
        podName: host.name,
        function: {
          runtime: 'nodejs',
          handler: 'index.handler',
          memoryMiB: 96,
          timeoutSeconds: 7,
          code: { inline: { files: { 'index.js': source } } },
        },
      },
    });
    await waitUntilReady(client, namespace, 'callback');
    const { value } = await invoke('callback', {}, 'ctx-1');
    expect(value).toMatchObject({
      functionName: 'my-fn',
      memoryLimitInMB: '96',
      requestId: 'ctx-1',
    });
    expect((value as { remaining: number }).remaining).toBeGreaterThan(6000);
    expect((value as { remaining: number }).remaining).toBeLessThanOrEqual(7000);
  });

  test.each([
    ['cjs-js', { 'index.js': `module.exports.handler = async () => 'commonjs';` }, 'commonjs'],
    [
      'esm-js',
      { 'index.js': `export const handler = async () => 'esm by syntax';` },
      'esm by syntax',
    ],
    [
      'esm-package',
      {
        'package.json': '{ "type": "module" }',
        'index.js': `export const handler = async () => typeof require;`,
      },
      'undefined',
    ],
  ])(
    'a .js handler takes its module type from its own code, never from where the host keeps it (%s)',
    async (name, files, expected) => {
      await client.create(Sandboxes, {
        metadata: { name, namespace },
        spec: {
          podName: host.name,
          function: { runtime: 'nodejs', handler: 'index.handler', code: { inline: { files } } },
        },
      });
      await waitUntilReady(client, namespace, name);
      expect((await invoke(name)).value).toBe(expected);
    },
  );

  test('a handler that throws returns an Unhandled error with its type, message and stack', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'thrower',
        host.name,
        `export const handler = async () => { throw new RangeError('out of range'); };`,
      ),
    );
    await waitUntilReady(client, namespace, 'thrower');
    const response = await invoke('thrower');
    expect(response.error).toBe('FUNCTION_ERROR_UNHANDLED');
    expect(response.errorType).toBe('RangeError');
    expect(response.errorMessage).toBe('out of range');
    // As Lambda shows it: the code at /var/task, never the host pod's own paths.
    expect(response.stackTrace[0]).toMatch(
      /^at handler \(file:\/\/\/var\/task\/index\.mjs:1:\d+\)$/,
    );
    expect(response.stackTrace.join('\n')).not.toContain(host.name);
  });

  test('a thrown value that cannot be printed still fails only its invocation', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'odd-thrower',
        host.name,
        `export const handler = async (e) => {
          if (e.kind === 'object') throw { toString: 0, valueOf: 0 };
          const err = new Error('x');
          Object.defineProperty(err, 'message', { get() { throw new Error('no'); } });
          Object.defineProperty(err, 'stack', { get() { throw new Error('no'); } });
          throw err;
        };`,
      ),
    );
    await waitUntilReady(client, namespace, 'odd-thrower');
    const object = await invoke('odd-thrower', { kind: 'object' });
    expect(object).toMatchObject({
      error: 'FUNCTION_ERROR_UNHANDLED',
      errorType: 'Error',
      errorMessage: '[object Object]',
    });
    const getters = await invoke('odd-thrower', { kind: 'getters' });
    expect(getters).toMatchObject({
      error: 'FUNCTION_ERROR_UNHANDLED',
      errorMessage: 'the function threw a value whose fields cannot be read',
    });
    const sandbox = await client.get(Sandboxes, { namespace, name: 'odd-thrower' });
    expect(sandbox.status?.restartCount ?? 0).toBe(0);
    // The same through a callback-style handler's error argument.
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'odd-callback',
        host.name,
        `export const handler = (event, context, callback) => callback({ toString: 0 });`,
      ),
    );
    await waitUntilReady(client, namespace, 'odd-callback');
    expect(await invoke('odd-callback')).toMatchObject({
      error: 'FUNCTION_ERROR_UNHANDLED',
      errorType: 'Error',
      errorMessage: '[object Object]',
    });
  });

  test("the function's environment holds only its env (and Lambda's variables)", async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'env',
        host.name,
        `export const handler = async () => process.env;`,
        { env: [{ name: 'GREETING', value: 'hej' }] },
      ),
    );
    await waitUntilReady(client, namespace, 'env');
    const env = (await invoke('env')).value as Record<string, string>;
    expect(env.GREETING).toBe('hej');
    expect(env.AWS_LAMBDA_FUNCTION_NAME).toBe('env');
    expect(
      Object.keys(env).filter(
        (k) => k.startsWith('ROOST') || k === 'KUBECONFIG' || k === 'POD_NAME',
      ),
    ).toEqual([]);
  });

  test('binary data travels base64 and a payload that is not JSON is refused', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'binary',
        host.name,
        `export const handler = async (e) => ({ statusCode: 200, isBase64Encoded: true, body: Buffer.from(Buffer.from(e.body, 'base64').reverse()).toString('base64') });`,
      ),
    );
    await waitUntilReady(client, namespace, 'binary');
    const bytes = Buffer.from([0, 1, 2, 255]);
    const { value } = await invoke('binary', {
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    });
    expect(Buffer.from((value as { body: string }).body, 'base64')).toEqual(
      Buffer.from([255, 2, 1, 0]),
    );
    await expect(
      sidecar.invoke({
        namespace,
        sandbox: 'binary',
        requestId: 'x',
        payload: Buffer.from('{not json'),
      }),
    ).rejects.toMatchObject({
      code: 3 /* INVALID_ARGUMENT */,
      details: expect.stringContaining('not JSON'),
    });
  });
});

function hostDataDir(): string {
  return join(hosts.dir, `${namespace}-${host.name}`);
}
