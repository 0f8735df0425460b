// The JVM bridge as a container of its own, as the chart's Java pools run it:
// a process the sidecar did not start, reached through a directory the two
// share (bridge.sock, bridge.secret). The test plays the kubelet: it starts
// the bridge, kills it, and starts it again; the sidecar notices, loads its
// Java Sandboxes into the new JVM and counts the restart.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Sandboxes } from '../kube/api/resources.ts';
import { startProcess, type ManagedProcess } from '../lib/process.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import { defaultBridgeJar } from '../sidecar/java/bridge-process.ts';
import type { HostPod } from '../testenv/host-pods.ts';
import { adminClient, createNamespace } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { requireBuiltJava } from './support/java-bridge.ts';
import { createJarConfigMap, javaSandbox } from './support/java-sandboxes.ts';
import { json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';

requireBuiltJava();

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;
let shared: string;
let bridge: ManagedProcess | undefined;

/** What the pod's "bridge" container runs. */
function startBridgeContainer(): ManagedProcess {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ROOST_BRIDGE_SECRET;
  return startProcess({
    name: 'java bridge container',
    command: java,
    args: [
      '-jar',
      defaultBridgeJar(),
      '--socket',
      join(shared, 'bridge.sock'),
      '--secret-file',
      join(shared, 'bridge.secret'),
      '--warmup',
      'off',
    ],
    env,
  });
}

beforeAll(async () => {
  namespace = await createNamespace(client, 'java-container');
  shared = mkdtempSync(join(tmpdir(), 'roost-bridge-shared-'));
  bridge = startBridgeContainer();
  hosts = await startTestHosts(namespace);
  host = await hosts.add({
    name: 'host-java-container',
    runtimes: ['nodejs', 'java'],
    sidecarArgs: [`--java-bridge-dir=${shared}`],
  });
  sidecar = hosts.connect(host.address);
  const jar = await createJarConfigMap(client, namespace, 'hello-jar', 'hello');
  await client.create(
    Sandboxes,
    javaSandbox(namespace, 'greeter', host.name, 'com.example.Greeter', jar),
  );
  await waitUntilReady(client, namespace, 'greeter');
}, 120_000);

afterAll(async () => {
  await hosts?.stop();
  await bridge?.stop(2_000);
  if (shared) rmSync(shared, { recursive: true, force: true });
});

test('a Java Sandbox runs in a bridge the sidecar did not start', async () => {
  const answer = await sidecar.invoke({
    namespace,
    sandbox: 'greeter',
    requestId: 'first',
    payload: json({ name: 'container' }),
  });
  expect(parse(answer.result)).toMatchObject({ message: 'hello container!' });
  // The secret is for the pod's shared group, never for others.
  expect(statSync(join(shared, 'bridge.secret')).mode & 0o777).toBe(0o640);
  // Closed to function processes: owner and group only.
  expect(statSync(shared).mode & 0o007).toBe(0);
});

test('the bridge container restarted: its Sandboxes load into the new JVM and count the restart', async () => {
  await bridge!.stop(0);
  bridge = startBridgeContainer();
  const status = await waitForStatus(
    client,
    namespace,
    'greeter',
    (s) =>
      s.restartCount === 1 &&
      s.phase === 'Running' &&
      s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
    'greeter to be loaded into the new bridge',
  );
  expect(status.lastTermination).toMatchObject({ reason: 'BridgeRestarted' });
  const answer = await sidecar.invoke({
    namespace,
    sandbox: 'greeter',
    requestId: 'after',
    payload: json({ name: 'again' }),
  });
  expect(parse(answer.result)).toMatchObject({ message: 'hello again!' });
});
