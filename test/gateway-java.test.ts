// Java functions deployed as a user deploys them: a SandboxDeployment with
// runtime java, its jar in a ConfigMap or at a url, scheduled by
// `roost controller` onto the host pod that offers java, and called through the
// sidecar and over HTTP through `roost gateway`: a POJO RequestHandler and a
// RequestStreamHandler, both speaking the Lambda function URL shapes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SandboxDeployments, Sandboxes } from '../kube/api/resources.ts';
import type { FunctionCode, Sandbox } from '../kube/api/roost.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startFileServer, type FileServer } from './support/file-server.ts';
import { requireBuiltJava } from './support/java-bridge.ts';
import { createJarConfigMap, fixtureJarBytes } from './support/java-sandboxes.ts';
import { roost, systemEnv } from './support/roost-cli.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import { json, parse } from './support/sandboxes.ts';

requireBuiltJava();

const execFileAsync = promisify(execFile);

const client = adminClient();
let system: RoostSystem;
let files: FileServer;
let javaHost: string;

/** Deploys `handler` from `code` as a one-replica SandboxDeployment, and waits until it is available. */
async function deploy(name: string, handler: string, code: FunctionCode): Promise<Sandbox> {
  const { namespace } = system;
  await client.create(SandboxDeployments, {
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      template: { spec: { function: { runtime: 'java', handler, code, timeoutSeconds: 10 } } },
    },
  });
  await eventually(
    async () => {
      const deployment = await client.get(SandboxDeployments, { namespace, name });
      return deployment.status?.readyReplicas === 1 &&
        deployment.status.conditions?.some((c) => c.type === 'Available' && c.status === 'True')
        ? deployment
        : undefined;
    },
    { what: `SandboxDeployment ${name} to be available`, timeoutMs: 30_000 },
  );
  const { items: sandboxes } = await client.list(Sandboxes, {
    namespace,
    labelSelector: `roost.dev/deployment=${name}`,
  });
  expect(sandboxes).toHaveLength(1);
  return sandboxes[0]!;
}

/** A function URL event, as the gateway would build it, for calls straight to the sidecar. */
function functionUrlEvent(method: string, rawPath: string, body: string) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'text/plain' },
    requestContext: { requestId: 'direct', http: { method, path: rawPath } },
    body,
    isBase64Encoded: false,
  };
}

beforeAll(async () => {
  const namespace = await createNamespace(client, 'java-gw');
  files = await startFileServer();
  // One host pod offers java, the other nodejs only: the Java functions must land on the first.
  system = await startRoostSystem({
    namespace,
    hosts: [{ name: 'java-host', runtimes: ['nodejs', 'java'] }, { name: 'node-host' }],
  });
  javaHost = `${namespace}-java-host`;
});

afterAll(async () => {
  await system?.stop();
  await files?.stop();
});

describe('a Java SandboxDeployment', () => {
  test('with a POJO RequestHandler from a ConfigMap becomes Ready and answers through the sidecar and the gateway', async () => {
    const code = await createJarConfigMap(client, system.namespace, 'web-jar', 'web');
    const sandbox = await deploy('route', 'com.example.web.Route', code);
    expect(sandbox.status).toMatchObject({ phase: 'Running', podName: javaHost });

    const sidecar = system.hosts.connect(sandbox.status!.address!);
    const direct = await sidecar.invoke({
      namespace: system.namespace,
      sandbox: sandbox.metadata.name!,
      requestId: 'direct-1',
      payload: json(functionUrlEvent('PUT', '/direct', 'one')),
    });
    expect(direct.error).toBe('FUNCTION_ERROR_NONE');
    expect(parse(direct.result)).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'text/plain', 'x-request-id': 'direct-1' },
      body: 'PUT /direct one',
    });

    const response = await fetch(system.functionUrl('route', '/orders?size=2'), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'two eggs',
    });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('POST /orders two eggs');
    // The gateway's request id is the one the function's Context saw.
    expect(response.headers.get('x-request-id')).toBe(response.headers.get('x-roost-request-id'));
  });

  test('with a RequestStreamHandler from a url becomes Ready and answers through the sidecar and the gateway', async () => {
    const { bytes, sha256 } = fixtureJarBytes('web');
    const url = files.serve('/web.jar', bytes);
    const sandbox = await deploy('stream', 'com.example.web.StreamEcho', { url: { url, sha256 } });
    expect(sandbox.status).toMatchObject({ phase: 'Running', podName: javaHost });

    const sidecar = system.hosts.connect(sandbox.status!.address!);
    const event = json(functionUrlEvent('GET', '/direct', ''));
    const direct = await sidecar.invoke({
      namespace: system.namespace,
      sandbox: sandbox.metadata.name!,
      requestId: 'direct-2',
      payload: event,
    });
    expect(parse(direct.result)).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain' },
      body: `stream saw ${event.length} bytes for /direct`,
    });

    const response = await fetch(system.functionUrl('stream', '/echo/this'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toMatch(/^stream saw \d+ bytes for \/echo\/this$/);
  });
});

test('a Java function made by roost init builds, deploys and answers as its printed steps say', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'roost-java-init-'));
  try {
    const target = join(dir, 'greeter');
    const created = await roost(['init', target, '--runtime', 'java']);
    expect(created.code, created.stderr).toBe(0);
    // The steps after "cd <dir>", run by the shell as printed (mvn, roost
    // deploy, roost invoke), with bin/ on PATH as the README says and the
    // test's namespace added.
    const steps = created.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^(mvn|roost) /.test(line));
    expect(steps).toHaveLength(3);
    const env = {
      ...process.env,
      ...systemEnv(system),
      PATH: `${join(import.meta.dirname, '..', 'bin')}:${process.env.PATH}`,
    };
    let answer = '';
    for (const step of steps) {
      const command = step.startsWith('roost ') ? `${step} -n ${system.namespace}` : step;
      const result = await shell(command, { cwd: target, env, timeout: 180_000 }).catch(
        (err: { stdout: string; stderr: string }) => {
          throw new Error(`${command} failed:\n${err.stdout}${err.stderr}`);
        },
      );
      answer = result.stdout;
    }
    expect(JSON.parse(answer)).toMatchObject({ message: 'Hello, you!' });
    // Its one invocation counted; no resident size, as it shares the pod's JVM.
    const stats = await roost(['stats', 'greeter', '-n', system.namespace], {
      env: systemEnv(system),
    });
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/^TOTAL\s+1\s+0\s+0\s+\d+\s.*\s-$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);

/** Runs one command line with bash, as a person pasting it would. */
function shell(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }) {
  return execFileAsync('bash', ['-c', command], { ...options, encoding: 'utf8' });
}
