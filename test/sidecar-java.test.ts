// Java Sandboxes plugged into a real host pod through its sidecar and the
// pod's JVM bridge: jars from a ConfigMap and from a url, every handler shape,
// functions that cannot be loaded, and the logs and stats a user reads.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Pods, Sandboxes } from '../kube/api/resources.ts';
import type { FunctionCode } from '../kube/api/roost.ts';
import { isNotFound } from '../kube/errors.ts';
import type { LogEntry } from '../proto/sandbox-host.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import { hostPodSpec, type HostPod } from '../testenv/host-pods.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startFileServer, type FileServer } from './support/file-server.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { requireBuiltJava } from './support/java-bridge.ts';
import { createJarConfigMap, fixtureJarBytes, javaSandbox } from './support/java-sandboxes.ts';
import { json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';

// Without the built jars every test here would fail obscurely: fail the file at once, with the fix.
requireBuiltJava();

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;
let files: FileServer;
let helloJar: FunctionCode;

beforeAll(async () => {
  namespace = await createNamespace(client, 'java-plug');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({ name: 'host-java', runtimes: ['nodejs', 'java'] });
  sidecar = hosts.connect(host.address);
  files = await startFileServer();
  helloJar = await createJarConfigMap(client, namespace, 'hello-jar', 'hello');
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'greeter', host.name, 'com.example.Greeter', helloJar),
  );
  await waitUntilReady(client, namespace, 'greeter');
});

afterAll(async () => {
  await hosts?.stop();
  await files?.stop();
});

async function invoke(sandbox: string, event: unknown, requestId = `req-${sandbox}`) {
  const response = await sidecar.invoke({ namespace, sandbox, requestId, payload: json(event) });
  return { ...response, value: response.result.length ? parse(response.result) : undefined };
}

describe('code sources and handler shapes', () => {
  test('the host pod offers java', async () => {
    const pod = await client.get(Pods, { namespace, name: host.name });
    expect(pod.metadata.annotations?.['roost.dev/runtimes']).toBe('nodejs,java');
    expect((await sidecar.health()).runtimes).toEqual(['nodejs', 'java']);
  });

  test('a sidecar started without --runtimes offers java where it finds java and the bridge jar', async () => {
    // As `kubectl apply` would make it: a host pod whose sidecar gets no --runtimes flag.
    const name = 'host-default-runtimes';
    const spec = hostPodSpec({ nodeName: hosts.kubelet.nodeName });
    spec.containers[0]!.args = ['sidecar'];
    await client.create(Pods, {
      metadata: { name, namespace, labels: { 'roost.dev/host': 'true' } },
      spec,
    });
    const runtimes = await eventually(
      async () =>
        (await client.get(Pods, { namespace, name })).metadata.annotations?.['roost.dev/runtimes'],
      { what: `host pod ${name} to publish its runtimes`, timeoutMs: 30_000 },
    );
    expect(runtimes).toBe('nodejs,java');
    await client.delete(Pods, { namespace, name });
  });

  test('a jar from a ConfigMap runs a POJO RequestHandler', async () => {
    const status = await waitUntilReady(client, namespace, 'greeter');
    expect(status).toMatchObject({ podName: host.name, address: host.address, restartCount: 0 });
    expect(status.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Scheduled=True',
      'CodeReady=True',
      'Ready=True',
    ]);
    const response = await invoke('greeter', { name: 'pojo', times: 2 });
    expect(response.error).toBe('FUNCTION_ERROR_NONE');
    expect(response.value).toEqual({ message: 'hello pojo! hello pojo!', length: 23 });
  });

  test('a Map RequestHandler gets the Lambda context: request id, function name, version, memory, time left', async () => {
    await client.create(Sandboxes, {
      ...javaSandbox(namespace, 'hello', host.name, 'com.example.Hello::handleRequest', helloJar, {
        memoryMiB: 96,
        timeoutSeconds: 7,
      }),
      metadata: { name: 'hello', namespace, labels: { 'roost.dev/deployment': 'my-java-fn' } },
    });
    await waitUntilReady(client, namespace, 'hello');
    const { error, value } = await invoke('hello', { name: 'map' }, 'ctx-1');
    expect(error).toBe('FUNCTION_ERROR_NONE');
    expect(value).toMatchObject({
      hello: 'map',
      requestId: 'ctx-1',
      functionName: 'my-java-fn',
      memoryLimitInMB: 96,
      handlerApiIsShared: true,
    });
    const remaining = (value as { remainingTimeInMillis: number }).remainingTimeInMillis;
    expect(remaining).toBeGreaterThan(6000);
    expect(remaining).toBeLessThanOrEqual(7000);
  });

  test('a RequestStreamHandler gets the payload bytes and answers what it writes', async () => {
    await client.create(
      Sandboxes,
      javaSandbox(namespace, 'shout', host.name, 'com.example.Shout', helloJar),
    );
    await waitUntilReady(client, namespace, 'shout');
    const response = await sidecar.invoke({
      namespace,
      sandbox: 'shout',
      requestId: 'shout-1',
      payload: json({ say: 'quiet please' }),
    });
    expect(response.error).toBe('FUNCTION_ERROR_NONE');
    expect(response.result.toString('utf8')).toBe('{"SAY":"QUIET PLEASE"}');
  });

  test('a jar from a url with its sha256 plugs, and shares the one copy on disk with the same jar from a ConfigMap', async () => {
    const { bytes, sha256 } = fixtureJarBytes('hello');
    const url = files.serve('/hello.jar', bytes);
    await client.create(
      Sandboxes,
      javaSandbox(namespace, 'from-url', host.name, 'com.example.Greeter', {
        url: { url, sha256 },
      }),
    );
    await waitUntilReady(client, namespace, 'from-url');
    expect((await invoke('from-url', { name: 'url' })).value).toMatchObject({
      message: 'hello url!',
    });
    const codeDir = join(hosts.dir, `${namespace}-${host.name}`, 'code');
    expect(existsSync(join(codeDir, sha256, 'function.jar'))).toBe(true);
  });

  test("the function's System.getenv is its env and Lambda's variables, nothing of the host's", async () => {
    await client.create(
      Sandboxes,
      javaSandbox(namespace, 'env', host.name, 'com.example.EnvReader', helloJar, {
        env: [{ name: 'GREETING', value: 'hej' }],
      }),
    );
    await waitUntilReady(client, namespace, 'env');
    const { value } = await invoke('env', {});
    const seen = value as { greeting: string; all: Record<string, string>; path: string };
    expect(seen.greeting).toBe('hej');
    expect(Object.keys(seen.all).sort()).toEqual([
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
      'AWS_LAMBDA_FUNCTION_NAME',
      'AWS_LAMBDA_FUNCTION_VERSION',
      'GREETING',
    ]);
    expect(seen.path).toBe('null');
  });
});

describe('a function that cannot be loaded fails alone', () => {
  test.each([
    [
      'a handler class that is not in the jar',
      'no-class',
      'com.example.Missing',
      /cannot load the Java function: class com\.example\.Missing is not in \S+function\.jar \(ROOST_JAVA_CLASS_NOT_FOUND\)/,
    ],
    [
      'a handler method that does not exist',
      'no-method',
      'com.example.Plain::nothing',
      /nothing.*\(ROOST_JAVA_NO_SUCH_METHOD\)/,
    ],
    [
      'a class that is not a handler',
      'not-handler',
      'com.example.NotAHandler',
      /\(ROOST_JAVA_NOT_A_HANDLER\)/,
    ],
    [
      'a constructor that throws',
      'bad-constructor',
      'com.example.BadConstructor',
      /no configuration found.*\(ROOST_JAVA_CONSTRUCTOR_THREW\)/,
    ],
  ])(
    '%s leaves that Sandbox Failed with a reason and message',
    async (_, name, handler, message) => {
      await client.create(Sandboxes, javaSandbox(namespace, name, host.name, handler, helloJar));
      const status = await waitForStatus(
        client,
        namespace,
        name,
        (s) => s.phase === 'Failed',
        `${name} to fail`,
      );
      expect(status.reason).toBe('FunctionLoadFailed');
      expect(status.message).toMatch(message);
      expect(status.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'False',
        reason: 'FunctionLoadFailed',
      });
      // The code was fine; the function was not.
      expect(status.conditions!.find((c) => c.type === 'CodeReady')?.status).toBe('True');
      await expect(invoke(name, {})).rejects.toMatchObject({ code: 5 /* NOT_FOUND */ });
      // Its neighbour in the same JVM keeps answering.
      expect((await invoke('greeter', { name: 'neighbour' })).value).toMatchObject({
        message: 'hello neighbour!',
      });
    },
  );
});

describe('logs and stats', () => {
  test('Logs has what a Java function printed, with the request id of its invocation', async () => {
    await waitUntilReady(client, namespace, 'hello');
    await invoke('hello', { name: 'logger' }, 'logs-1');
    await invoke('hello', { name: 'other' }, 'logs-2');
    const collect = (request: Parameters<SandboxHostConnection['logs']>[0]) =>
      new Promise<LogEntry[]>((resolve, reject) => {
        const lines: LogEntry[] = [];
        const stream = sidecar.logs({ namespace, sandbox: 'hello', ...request });
        stream.on('data', (line: LogEntry) => lines.push(line));
        stream.on('end', () => resolve(lines));
        stream.on('error', reject);
      });
    // Function output travels on the bridge's Events stream, beside the answer: wait for it.
    const lines = await eventually(
      async () => {
        const found = await collect({ requestId: 'logs-1' });
        return found.length >= 6 ? found : undefined;
      },
      { what: 'the lines of invocation logs-1' },
    );
    expect(lines.map((l) => [l.level, l.stream, l.message])).toEqual([
      ['LOG_LEVEL_INFO', 'stdout', 'hello logger on stdout'],
      ['LOG_LEVEL_INFO', 'stdout', 'a line in two prints'],
      ['LOG_LEVEL_ERROR', 'stderr', 'hello logger on stderr'],
      ['LOG_LEVEL_INFO', 'console', 'hello logger through the LambdaLogger'],
      ['LOG_LEVEL_WARN', 'console', 'a warning'],
      ['LOG_LEVEL_INFO', 'stdout', 'hello logger through LambdaRuntime'],
    ]);
    expect(lines.every((l) => l.requestId === 'logs-1' && l.deployment === 'my-java-fn')).toBe(
      true,
    );
    const warnings = await collect({ minLevel: 'LOG_LEVEL_WARN', contains: 'other' });
    expect(warnings.map((l) => [l.requestId, l.message])).toEqual([
      ['logs-2', 'hello other on stderr'],
    ]);
  });

  test('Stats counts the invocations of a Java Sandbox, with the CPU and allocation the bridge measured', async () => {
    await client.create(
      Sandboxes,
      javaSandbox(namespace, 'counted', host.name, 'com.example.Greeter', helloJar),
    );
    await waitUntilReady(client, namespace, 'counted');
    for (let i = 0; i < 3; i++) await invoke('counted', { name: `n${i}`, times: 50 });
    const thrown = await client.create(
      Sandboxes,
      javaSandbox(namespace, 'thrower', host.name, 'com.example.Thrower', helloJar),
    );
    await waitUntilReady(client, namespace, thrown.metadata.name!);
    const failed = await invoke('thrower', 'this');
    expect(failed).toMatchObject({
      error: 'FUNCTION_ERROR_UNHANDLED',
      errorType: 'java.lang.IllegalStateException',
      errorMessage: 'cannot handle this',
    });

    const { pod, sandboxes, javaBridge } = await sidecar.stats({ namespace });
    expect(pod).toBe(host.name);
    // The JVM the pod's Java Sandboxes share: its heap against its limit, and what it holds.
    expect(Number(javaBridge?.heapUsedBytes)).toBeGreaterThan(0);
    expect(Number(javaBridge?.heapMaxBytes)).toBeGreaterThanOrEqual(
      Number(javaBridge?.heapUsedBytes),
    );
    expect(javaBridge?.loadedSandboxes).toBeGreaterThanOrEqual(2);
    const counted = sandboxes.find((s) => s.sandbox === 'counted');
    expect(counted).toMatchObject({
      runtime: 'java',
      invocations: 3,
      errors: 0,
      timeouts: 0,
      coldStarts: 1,
      restarts: 0,
      inFlight: 0,
      hibernated: false,
    });
    expect(counted!.cpuSeconds).toBeGreaterThan(0);
    expect(counted!.allocatedBytes).toBeGreaterThan(0);
    expect(counted!.p99Ms).toBeGreaterThanOrEqual(counted!.p50Ms);
    expect(sandboxes.find((s) => s.sandbox === 'thrower')).toMatchObject({
      invocations: 1,
      errors: 1,
    });
  });
});

describe('unplugging', () => {
  test('deleting a Java Sandbox unloads it and removes its finalizer; the JVM serves the others', async () => {
    await client.create(
      Sandboxes,
      javaSandbox(namespace, 'short-lived', host.name, 'com.example.Greeter', helloJar),
    );
    await waitUntilReady(client, namespace, 'short-lived');
    const sandbox = await client.get(Sandboxes, { namespace, name: 'short-lived' });
    expect(sandbox.metadata.finalizers).toContain('roost.dev/sidecar');
    await client.delete(Sandboxes, { namespace, name: 'short-lived' });
    await eventually(
      async () => {
        try {
          await client.get(Sandboxes, { namespace, name: 'short-lived' });
          return false;
        } catch (err) {
          return isNotFound(err);
        }
      },
      { what: 'the Sandbox to be deleted' },
    );
    await expect(invoke('short-lived', { name: 'gone' })).rejects.toMatchObject({
      code: 5 /* NOT_FOUND */,
    });
    expect((await invoke('greeter', { name: 'still' })).value).toMatchObject({
      message: 'hello still!',
    });
  });
});
