// Java functions that misbehave in the host pod's one shared JVM, driven
// through the sidecar: System.exit, an endless loop and running out of heap
// each fail their own invocation, the function is loaded afresh with the
// reason in its status, and the JVM and the neighbours (a Java function in the
// same JVM, a Node function beside it) answer every call throughout.
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { Sandboxes } from '../kube/api/resources.ts';
import type { FunctionCode } from '../kube/api/roost.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';
import { adminClient, createNamespace } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { requireBuiltJava } from './support/java-bridge.ts';
import { createJarConfigMap, javaSandbox } from './support/java-sandboxes.ts';
import { keepInvoking, type Neighbour } from './support/neighbours.ts';
import { descendants } from './support/processes.ts';
import { inlineSandbox, json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';

requireBuiltJava();

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;
let abuseJar: FunctionCode;
let jvmPid: number;
let neighbours: Neighbour[] = [];

/** The pid of the JVM bridge under the host pod's sidecar. */
function bridgePid(): number | undefined {
  return descendants(host.process.pid!).find((p) => p.command.includes('roost-java-bridge.jar'))
    ?.pid;
}

beforeAll(async () => {
  namespace = await createNamespace(client, 'java-abuse');
  hosts = await startTestHosts(namespace);
  // A small heap, so that running out of it takes a moment rather than gigabytes.
  host = await hosts.add({
    name: 'host-java-abuse',
    runtimes: ['nodejs', 'java'],
    sidecarArgs: ['--java-max-heap-mib=256'],
  });
  sidecar = hosts.connect(host.address);
  const helloJar = await createJarConfigMap(client, namespace, 'hello-jar', 'hello');
  abuseJar = await createJarConfigMap(client, namespace, 'abuse-jar', 'abuse');
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'java-neighbour', host.name, 'com.example.Greeter', helloJar),
  );
  await client.create(
    Sandboxes,
    inlineSandbox(
      namespace,
      'node-neighbour',
      host.name,
      `export const handler = async (e) => ({ echo: e.n });`,
    ),
  );
  await waitUntilReady(client, namespace, 'java-neighbour');
  await waitUntilReady(client, namespace, 'node-neighbour');
  jvmPid = bridgePid()!;
  expect(jvmPid, 'the sidecar runs a JVM bridge').toBeGreaterThan(0);
});

beforeEach(() => {
  neighbours = [
    keepInvoking(
      sidecar,
      { namespace, sandbox: 'java-neighbour' },
      (n) => ({ name: `n${n}` }),
      (r, n) =>
        r.error !== 'FUNCTION_ERROR_NONE'
          ? `${r.error} ${r.errorMessage}`
          : parse<{ message: string }>(r.result).message !== `hello n${n}!`
            ? `answered ${r.result.toString()}`
            : undefined,
    ),
    keepInvoking(
      sidecar,
      { namespace, sandbox: 'node-neighbour' },
      (n) => ({ n }),
      (r, n) =>
        r.error !== 'FUNCTION_ERROR_NONE'
          ? `${r.error} ${r.errorMessage}`
          : parse<{ echo: number }>(r.result).echo !== n
            ? `answered ${r.result.toString()}`
            : undefined,
    ),
  ];
});

afterEach(async () => {
  const results = await Promise.all(neighbours.map((n) => n.stop()));
  expect(results.flatMap((r) => r.failures)).toEqual([]);
  expect(bridgePid(), 'the same JVM must still be serving').toBe(jvmPid);
});

afterAll(async () => {
  await hosts?.stop();
});

const invoke = (sandbox: string, event: unknown = {}) =>
  sidecar.invoke({
    namespace,
    sandbox,
    requestId: `${sandbox}-${Date.now()}`,
    payload: json(event),
  });

test('System.exit fails its invocation as an exit; the function is loaded afresh and its status says why', async () => {
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'exits', host.name, 'com.example.abuse.Exit', abuseJar),
  );
  await waitUntilReady(client, namespace, 'exits');
  const response = await invoke('exits');
  expect(response).toMatchObject({
    error: 'FUNCTION_ERROR_CRASHED',
    errorType: 'Runtime.ExitError',
    errorMessage: expect.stringContaining('System.exit(3) was called'),
  });
  expect(response.stackTrace[0]).toMatch(/^com\.example\.abuse\.Exit\.handleRequest/);
  const status = await waitForStatus(
    client,
    namespace,
    'exits',
    (s) =>
      s.restartCount === 1 &&
      s.phase === 'Running' &&
      s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
    'the reload after System.exit',
  );
  expect(status.lastTermination).toMatchObject({
    reason: 'Error',
    exitCode: 3,
    message: expect.stringContaining('called System.exit(3)'),
  });
  // Loaded again, it runs again (and exits again).
  expect((await invoke('exits')).errorType).toBe('Runtime.ExitError');
});

test('an endless loop times out; the function is loaded afresh and its status says why', async () => {
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'spins', host.name, 'com.example.abuse.Spin', abuseJar, {
      timeoutSeconds: 1,
    }),
  );
  await waitUntilReady(client, namespace, 'spins');
  const started = Date.now();
  const response = await invoke('spins');
  expect(response.error).toBe('FUNCTION_ERROR_TIMEOUT');
  expect(response.errorMessage).toBe('Task timed out after 1.00 seconds');
  expect(Date.now() - started).toBeLessThan(2_500);
  const status = await waitForStatus(
    client,
    namespace,
    'spins',
    (s) =>
      s.restartCount === 1 &&
      s.phase === 'Running' &&
      s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
    'the reload after the timeout',
  );
  expect(status.lastTermination).toMatchObject({
    reason: 'Timeout',
    message: expect.stringMatching(/ran past its timeout of 1000 ms/),
  });
  const { sandboxes } = await sidecar.stats({ namespace, sandbox: 'spins' });
  expect(sandboxes[0]).toMatchObject({ invocations: 1, timeouts: 1, restarts: 1 });
});

test('running out of heap fails its invocation as OOM; the function is reloaded and its status says OOMKilled', async () => {
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'hog', host.name, 'com.example.abuse.Hog', abuseJar),
  );
  await waitUntilReady(client, namespace, 'hog');
  const response = await invoke('hog');
  expect(response).toMatchObject({
    error: 'FUNCTION_ERROR_OUT_OF_MEMORY',
    errorType: 'java.lang.OutOfMemoryError',
  });
  const status = await waitForStatus(
    client,
    namespace,
    'hog',
    (s) =>
      s.restartCount === 1 &&
      s.phase === 'Running' &&
      s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
    'the reload after OOMKilled',
  );
  expect(status.lastTermination).toMatchObject({
    reason: 'OOMKilled',
    message: expect.stringContaining('ran out of memory'),
  });
});
