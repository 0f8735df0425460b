// The JVM bridge of a host pod dies (SIGKILL, as the kernel's OOM killer
// would): the sidecar's bridge module starts a new one, every Java Sandbox of
// the pod is loaded into it and counts the restart in its status, their logs
// flow again, and the pod's Node functions never notice.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Sandboxes } from '../kube/api/resources.ts';
import type { LogEntry } from '../proto/sandbox-host.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { requireBuiltJava } from './support/java-bridge.ts';
import { createJarConfigMap, javaSandbox } from './support/java-sandboxes.ts';
import { keepInvoking } from './support/neighbours.ts';
import { descendants } from './support/processes.ts';
import { inlineSandbox, json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';

requireBuiltJava();

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;

const JAVA_SANDBOXES = ['greeter', 'hello'];

function bridgePid(): number | undefined {
  return descendants(host.process.pid!).find((p) => p.command.includes('roost-java-bridge.jar'))
    ?.pid;
}

beforeAll(async () => {
  namespace = await createNamespace(client, 'java-restart');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({ name: 'host-java-restart', runtimes: ['nodejs', 'java'] });
  sidecar = hosts.connect(host.address);
  const helloJar = await createJarConfigMap(client, namespace, 'hello-jar', 'hello');
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'greeter', host.name, 'com.example.Greeter', helloJar),
  );
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'hello', host.name, 'com.example.Hello', helloJar),
  );
  await client.create(
    Sandboxes,
    inlineSandbox(namespace, 'node', host.name, `export const handler = async (e) => e.n;`),
  );
  for (const name of [...JAVA_SANDBOXES, 'node']) await waitUntilReady(client, namespace, name);
});

afterAll(async () => {
  await hosts?.stop();
});

test('a killed bridge JVM is restarted, its Sandboxes are loaded again and count the restart', async () => {
  const before = bridgePid();
  expect(before, 'the sidecar runs a JVM bridge').toBeDefined();
  const node = keepInvoking(
    sidecar,
    { namespace, sandbox: 'node' },
    (n) => ({ n }),
    (r, n) => (parse(r.result) === n ? undefined : `${r.error} ${r.errorMessage}`),
  );

  process.kill(before!, 'SIGKILL');

  for (const name of JAVA_SANDBOXES) {
    const status = await waitForStatus(
      client,
      namespace,
      name,
      (s) =>
        s.restartCount === 1 &&
        s.phase === 'Running' &&
        s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
      `${name} to be loaded into the new bridge`,
    );
    expect(status.lastTermination).toMatchObject({
      reason: 'BridgeRestarted',
      signal: 'SIGKILL',
      message: expect.stringContaining('was restarted'),
    });
  }
  const after = bridgePid();
  expect(after).toBeDefined();
  expect(after).not.toBe(before);

  const greeting = await sidecar.invoke({
    namespace,
    sandbox: 'greeter',
    requestId: 'after-1',
    payload: json({ name: 'again' }),
  });
  expect(parse(greeting.result)).toMatchObject({ message: 'hello again!' });
  // A new Events stream carries the new JVM's function output to the Sandbox's logs.
  await sidecar.invoke({
    namespace,
    sandbox: 'hello',
    requestId: 'after-2',
    payload: json({ name: 'reborn' }),
  });
  await eventually(
    () =>
      new Promise<boolean>((resolve, reject) => {
        const lines: LogEntry[] = [];
        const stream = sidecar.logs({ namespace, sandbox: 'hello', requestId: 'after-2' });
        stream.on('data', (line: LogEntry) => lines.push(line));
        stream.on('end', () => resolve(lines.some((l) => l.message === 'hello reborn on stdout')));
        stream.on('error', reject);
      }),
    { what: 'the log line of the invocation after the restart' },
  );

  const { sandboxes } = await sidecar.stats({ namespace });
  expect(Object.fromEntries(sandboxes.map((s) => [s.sandbox, s.restarts]))).toEqual({
    greeter: 1,
    hello: 1,
    node: 0,
  });
  const { failures } = await node.stop();
  expect(failures, 'the Node function answers throughout').toEqual([]);
});
