// End to end: `roost deploy` and `roost invoke` as a user runs them, against
// the whole system (host pods with real sidecars, `roost controller`,
// `roost gateway`): the examples deploy from their directories and files and
// answer through the gateway, and each main error says what to do, with its
// exit code.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigMaps, Namespaces, SandboxDeployments } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { DEPLOYMENT_LABEL } from '../kube/well-known.ts';
import { adminClient, createNamespace, kubectl } from './support/cluster.ts';
import { killLeftovers, roost, systemEnv } from './support/roost-cli.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');

let client: KubeClient;
let namespace: string;
let system: RoostSystem;
let env: Record<string, string>;
let scratch: string;

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'cli-deploy');
  system = await startRoostSystem({ namespace });
  env = systemEnv(system);
  scratch = mkdtempSync(join(tmpdir(), 'roost-cli-deploy-'));
});

afterAll(async () => {
  killLeftovers();
  await system?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  client?.close();
});

/** `roost <args> -n <test namespace>` with the test's cluster, gateway and token. */
const run = (args: string[], options: { input?: string } = {}) =>
  roost([...args, '-n', namespace], { env, ...options });

function writeFunction(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function exists(type: typeof ConfigMaps | typeof SandboxDeployments, name: string) {
  try {
    await client.get(type as typeof SandboxDeployments, { namespace, name });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

describe('the hello example', () => {
  test('deploys from its directory, waits until ready, prints the URL, and answers roost invoke', async () => {
    const deployed = await run([
      'deploy',
      join(EXAMPLES, 'hello'),
      '--name',
      'hello',
      '--memory',
      '64',
    ]);
    expect(deployed.stderr).toMatch(/Created ConfigMap .*\/hello-code-[0-9a-f]{10}/);
    expect(deployed.stderr).toMatch(/Waiting for hello: /);
    expect(deployed.stdout).toContain(`Deployed ${namespace}/hello revision 1`);
    expect(deployed.stdout).toContain(`curl ${system.gateway.url}/fn/${namespace}/hello`);
    expect(deployed.code).toBe(0);

    const invoked = await run(['invoke', 'hello', '--http', '--path', '/?name=Roost']);
    expect(invoked.code).toBe(0);
    const body = JSON.parse(invoked.stdout) as { message: string; requestId: string };
    expect(body.message).toBe('Hello, Roost!');
    // The request id on stderr is the one the function saw.
    expect(invoked.stderr).toBe(`request id: ${body.requestId}\n`);
  });

  test('--data is the event itself, as aws lambda invoke passes it; --tail prints its log', async () => {
    const invoked = await run(['invoke', 'hello', '--data', '{"name":"Ada"}', '--tail']);
    expect(invoked.code, invoked.stderr).toBe(0);
    const body = JSON.parse(invoked.stdout) as { message: string; requestId: string };
    expect(body.message).toBe('Hello, Ada!');
    expect(invoked.stderr).toContain(`REPORT RequestId: ${body.requestId}`);
    expect(invoked.stderr).toContain(`request id: ${body.requestId}\n`);
  });

  test('--data that is not JSON, or an HTTP flag without --http, is refused before anything is sent', async () => {
    const notJson = await run(['invoke', 'hello', '--data', 'name=Ada']);
    expect(notJson.stderr).toContain('Cannot send --data as the event: it is not JSON');
    expect(notJson.code).toBe(2);
    const path = await run(['invoke', 'hello', '--path', '/x']);
    expect(path.stderr).toContain('--path belongs to the function-URL form: add --http');
    expect(path.code).toBe(2);
  });

  test('deploying the same code again writes no new ConfigMap and makes no new revision', async () => {
    const again = await run([
      'deploy',
      join(EXAMPLES, 'hello'),
      '--name',
      'hello',
      '--memory',
      '64',
      '-o',
      'json',
    ]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/Unchanged ConfigMap .*\/hello-code-[0-9a-f]{10}/);
    const result = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      namespace,
      name: 'hello',
      runtime: 'nodejs',
      handler: 'index.handler',
      revision: 1,
      ready: true,
      url: `${system.gateway.url}/fn/${namespace}/hello`,
    });
    const maps = await client.list(ConfigMaps, {
      namespace,
      labelSelector: `${DEPLOYMENT_LABEL}=hello`,
    });
    expect(maps.items.map((m) => m.metadata.name)).toEqual([result.configMap]);
    expect(maps.items[0]!.immutable).toBe(true);
    // The function owns its code: deleting it deletes the ConfigMap too.
    expect(maps.items[0]!.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'SandboxDeployment',
      name: 'hello',
    });
  });

  test('--async --http queues the invocation: 202 with its request id', async () => {
    const queued = await run(['invoke', 'hello', '--http', '--async', '-i']);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/^HTTP\/1\.1 202 Accepted\r\n/);
    const requestId = /request id: (\S+)/.exec(queued.stderr)?.[1];
    expect(queued.stdout).toContain(`{"requestId":"${requestId}"}`);
  });
});

describe('the HTTP example, deployed from its file', () => {
  beforeAll(async () => {
    const deployed = await run([
      'deploy',
      join(EXAMPLES, 'http-api', 'index.mjs'),
      '--name',
      'http-api',
      '--memory',
      '64',
    ]);
    expect(deployed.code, deployed.stderr).toBe(0);
  });

  test('GET with a query string and a cookie: status line, headers, cookies and JSON body with -i', async () => {
    const result = await run([
      'invoke',
      'http-api',
      '--http',
      '--path',
      '/hello?name=Ada',
      '-H',
      'cookie: visits=2',
      '-i',
    ]);
    expect(result.code).toBe(0);
    const [head, body] = result.stdout.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(head).toMatch(/^x-example: http-api$/im);
    expect(head).toMatch(/^set-cookie: visits=3; Path=\/; HttpOnly$/im);
    expect(head).toMatch(/^x-roost-request-id: \S+$/im);
    expect(JSON.parse(body)).toEqual({ greeting: 'Hello, Ada!', visits: 3 });
  });

  test('POST of a JSON body, inline, from a file and from stdin', async () => {
    const inline = await run([
      'invoke',
      'http-api',
      '--http',
      '--path',
      '/sum',
      '--data',
      '{"numbers":[1,2,3]}',
    ]);
    expect(inline.stdout).toBe('{"sum":6}');
    writeFileSync(join(scratch, 'numbers.json'), '{"numbers":[10,20]}');
    const fromFile = await run([
      'invoke',
      'http-api',
      '--http',
      '--path',
      '/sum',
      '--data',
      `@${join(scratch, 'numbers.json')}`,
    ]);
    expect(fromFile.stdout).toBe('{"sum":30}');
    const fromStdin = await run(['invoke', 'http-api', '--http', '--path', '/sum', '--data', '-'], {
      input: '{"numbers":[0.5,0.25]}',
    });
    expect(fromStdin.stdout).toBe('{"sum":0.75}');
    expect([inline.code, fromFile.code, fromStdin.code]).toEqual([0, 0, 0]);
  });

  test('a 4xx answer from the function is printed as it is, with exit code 1', async () => {
    const result = await run(['invoke', 'http-api', '--http', '--path', '/nowhere']);
    expect(JSON.parse(result.stdout)).toEqual({
      error: 'no route for GET /nowhere; try GET /hello or POST /sum',
    });
    expect(result.stderr).toContain('roost: http-api answered 404');
    expect(result.code).toBe(1);
  });
});

test('the CloudEvents example receives a binary-mode CloudEvent as its event', async () => {
  const deployed = await run([
    'deploy',
    join(EXAMPLES, 'cloudevents'),
    '--name',
    'cloudevents',
    '--memory',
    '64',
  ]);
  expect(deployed.code, deployed.stderr).toBe(0);
  const result = await run([
    'invoke',
    'cloudevents',
    '--http',
    '-H',
    'ce-specversion=1.0',
    '-H',
    'ce-id=order-42',
    '-H',
    'ce-source=/orders',
    '-H',
    'ce-type=order.created',
    '--data',
    '{"order":42}',
  ]);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    accepted: 'order-42',
    type: 'order.created',
    source: '/orders',
    data: { order: 42 },
  });
});

describe('functions of a user', () => {
  test('a function made by roost init deploys and answers as its test says', async () => {
    const dir = join(scratch, 'greeter');
    expect((await roost(['init', dir, '--runtime', 'nodejs'])).code).toBe(0);
    // Named by its package.json, as roost init wrote it.
    const deployed = await roost(['deploy', '.', '-n', namespace], {
      env,
      // As its README says: from inside the function's directory.
      ...{ cwd: dir },
    });
    expect(deployed.code, deployed.stderr).toBe(0);
    const invoked = await run(['invoke', 'greeter', '--http', '--path', '/?name=you']);
    expect(JSON.parse(invoked.stdout)).toMatchObject({ message: 'Hello, you!' });
  });

  test('without --name, a directory whose name is not a valid function name is refused, naming --name', async () => {
    const dir = writeFunction('My_Func', { 'index.mjs': 'export const handler = async () => 1;' });
    const result = await run(['deploy', dir]);
    expect(result.stderr).toContain(
      `Cannot name the function after ${dir}: "My_Func" is not a valid name (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit); pass --name`,
    );
    expect(result.code).toBe(2);
  });

  test('one file with --env and no --name: function and handler are named by the file; a thrown error is a 502 with exit code 1', async () => {
    const dir = writeFunction('tool', {
      'tool.mjs': `export const handler = async (event) => {
  if (event.rawPath === '/boom') throw new TypeError('boom');
  return { greeting: process.env.GREETING, memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE };
};
`,
    });
    const deployed = await run([
      'deploy',
      join(dir, 'tool.mjs'),
      '--env',
      'GREETING=ahoy',
      '--memory',
      '96',
      '--timeout',
      '5',
    ]);
    expect(deployed.stdout).toContain('handler tool.handler');
    expect(deployed.code, deployed.stderr).toBe(0);
    const fine = await run(['invoke', 'tool']);
    expect(JSON.parse(fine.stdout)).toEqual({ greeting: 'ahoy', memory: '96' });
    const failed = await run(['invoke', 'tool', '--http', '--path', '/boom']);
    expect(failed.stderr).toContain(
      'roost: tool answered 502: the function failed: TypeError: boom',
    );
    expect(failed.code).toBe(1);
    // As an event, the failure is the function's error, with exit code 1 too.
    const failedEvent = await run(['invoke', 'tool', '--data', '{"rawPath":"/boom"}']);
    expect(failedEvent.stderr).toContain(
      'roost: tool failed: the function failed: TypeError: boom',
    );
    expect(failedEvent.code).toBe(1);
  });
});

describe('main errors', () => {
  test('invoking a function that does not exist: the gateway 404, exit code 3', async () => {
    const event = await run(['invoke', 'nope']);
    expect(event.stderr).toContain(
      `(no SandboxDeployment nope in namespace ${namespace}); \`roost get deployments -n ${namespace}\` lists the functions there [ROOST_NOT_FOUND]`,
    );
    expect(event.code).toBe(3);
    const result = await run(['invoke', 'nope', '--http']);
    expect(result.stderr).toContain(
      `roost: No function ${namespace}/nope: there is no SandboxDeployment of that name; \`roost get deployments -n ${namespace}\` lists the functions there [ROOST_NOT_FOUND]`,
    );
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: { code: 'ROOST_FUNCTION_NOT_FOUND' },
    });
    expect(result.code).toBe(3);
  });

  test('code too large for a ConfigMap is refused with the advice to use a url, and nothing is created', async () => {
    const dir = writeFunction('big', {
      'index.mjs': 'export const handler = async () => 1;\n',
      // Random bytes do not compress.
      'model.bin': randomBytes(1536 * 1024),
    });
    const result = await run(['deploy', dir, '--name', 'big']);
    expect(result.stderr).toMatch(
      /Cannot deploy .*big: its code is 1\.5 MiB packed, more than the 1\.0 MiB a ConfigMap holds\. Serve the \.tgz from a URL .* spec\.function\.code\.url .* sha256: [0-9a-f]{64}/,
    );
    expect(result.code).toBe(2);
    const maps = await client.list(ConfigMaps, {
      namespace,
      labelSelector: `${DEPLOYMENT_LABEL}=big`,
    });
    expect(maps.items).toEqual([]);
    expect(await exists(SandboxDeployments, 'big')).toBe(false);
  });

  test('a function that cannot load fails the deploy at once with the Sandbox reason, exit code 1', async () => {
    const dir = writeFunction('broken', {
      'index.mjs': 'export const handler = async () => { return 1 +;\n',
    });
    const started = Date.now();
    const result = await run(['deploy', dir, '--name', 'broken']);
    expect(result.stderr).toMatch(
      /Rollout of .*\/broken failed: Sandbox broken-\S+ failed: \S+: .*SyntaxError/,
    );
    expect(result.stderr).toContain('see `roost logs broken`');
    expect(result.code).toBe(1);
    // Well before the default two-minute wait.
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('the Java example', () => {
  const jar = join(EXAMPLES, 'java-hello', 'target', 'java-hello.jar');

  test('deploys from its Maven project: the built jar goes into the ConfigMap, runtime java', async () => {
    const result = await run([
      'deploy',
      join(EXAMPLES, 'java-hello'),
      '--name',
      'java-hello',
      '--handler',
      'com.example.Hello::handleRequest',
      '--no-wait',
    ]);
    expect(result.stdout).toContain(
      `Submitted ${namespace}/java-hello: not waited for (--no-wait)`,
    );
    expect(result.code, result.stderr).toBe(0);
    const deployment = await client.get(SandboxDeployments, { namespace, name: 'java-hello' });
    const fn = deployment.spec.template.spec.function;
    expect(fn.runtime).toBe('java');
    expect(fn.handler).toBe('com.example.Hello::handleRequest');
    const map = await client.get(ConfigMaps, { namespace, name: fn.code.configMap!.name });
    expect(fn.code.configMap!.key).toBe('function.jar');
    expect(Buffer.from(map.binaryData!['function.jar']!, 'base64').equals(readFileSync(jar))).toBe(
      true,
    );
  });

  test('on a pool that offers no Java, the wait says why the Sandbox cannot be placed and times out, exit code 1', async () => {
    const result = await run([
      'deploy',
      jar,
      '--name',
      'java-hello',
      '--handler',
      'com.example.Hello::handleRequest',
      '--wait-timeout',
      '4s',
    ]);
    expect(result.stderr).toMatch(
      /Sandbox java-hello-\S+ cannot be placed: 0\/3 host pods fit: 3 do not offer runtime java/,
    );
    expect(result.stderr).toContain('did not roll out within 4 s');
    expect(result.code).toBe(1);
  });

  test('deploys with kubectl in the two documented steps: the jar into a ConfigMap, then the manifest', async () => {
    const other = await createNamespace(client, 'cli-java-kubectl');
    try {
      const created = await kubectl([
        'create',
        'configmap',
        'java-hello-code',
        `--from-file=function.jar=${jar}`,
        '-n',
        other,
      ]);
      expect(created.code, created.stderr).toBe(0);
      const applied = await kubectl([
        'apply',
        '-f',
        join(EXAMPLES, 'java-hello', 'deployment.yaml'),
        '-n',
        other,
      ]);
      expect(applied.stdout).toContain('sandboxdeployment.roost.dev/java-hello created');
      // A binary file lands in binaryData, byte for byte, where the sidecar reads it.
      const map = await client.get(ConfigMaps, { namespace: other, name: 'java-hello-code' });
      expect(
        Buffer.from(map.binaryData!['function.jar']!, 'base64').equals(readFileSync(jar)),
      ).toBe(true);
    } finally {
      await client.delete(Namespaces, { name: other });
    }
  });

  test('a Java function without --handler is refused before anything is written', async () => {
    const result = await run(['deploy', jar, '--name', 'java-other']);
    expect(result.stderr).toContain(
      'a Java function needs --handler, such as com.example.Hello::handleRequest',
    );
    expect(result.code).toBe(2);
    expect(await exists(SandboxDeployments, 'java-other')).toBe(false);
  });
});
