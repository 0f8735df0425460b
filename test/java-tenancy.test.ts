// Which boundary holds for Java. Java Sandboxes of one host pod share its JVM,
// and class loaders are not a security boundary: a function can reach what
// the JVM holds (its heap, its other threads, System properties) through
// reflection and the JDK's own APIs. What keeps teams apart is the pool's
// allowed namespaces (roost.dev/allowed-namespaces): a Sandbox of a namespace
// the pool does not allow never gets into its JVM, even when it names the pod
// in spec.podName itself and so bypasses the scheduler.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Sandboxes } from '../kube/api/resources.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';
import { adminClient, createNamespace } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { createJarConfigMap, javaSandbox } from './support/java-sandboxes.ts';
import { json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';

const client = adminClient();
let trusted: string;
let outsider: string;
let hosts: TestHosts;
let pool: HostPod;
let sidecar: SandboxHostConnection;

beforeAll(async () => {
  trusted = await createNamespace(client, 'java-team-a');
  outsider = await createNamespace(client, 'java-team-b');
  hosts = await startTestHosts(trusted);
  // Without roost.dev/allowed-namespaces a pool takes its own namespace only.
  pool = await hosts.add({ name: 'pool-team-a', runtimes: ['nodejs', 'java'] });
  sidecar = hosts.connect(pool.address);
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
});

test("a Java Sandbox of a namespace the pool does not allow never reaches the pool's JVM, even naming the pod itself", async () => {
  const ownJar = await createJarConfigMap(client, trusted, 'hello-jar', 'hello');
  await client.create(
    Sandboxes,
    javaSandbox(trusted, 'inside', pool.name, 'com.example.Greeter', ownJar),
  );
  await waitUntilReady(client, trusted, 'inside');

  const foreignJar = await createJarConfigMap(client, outsider, 'hello-jar', 'hello');
  await client.create(
    Sandboxes,
    javaSandbox(outsider, 'intruder', pool.name, 'com.example.Greeter', foreignJar),
  );
  const status = await waitForStatus(
    client,
    outsider,
    'intruder',
    (s) => s.phase === 'Failed',
    'the foreign Sandbox to fail',
  );
  expect(status.reason).toBe('NamespaceNotAllowed');
  expect(status.message).toContain(`takes Sandboxes of ${trusted} only`);
  // Never loaded: the sidecar knows nothing of it, and it cannot be invoked.
  const stats = await sidecar.stats();
  const loaded = stats.sandboxes.map((s) => `${s.namespace}/${s.sandbox}`);
  expect(loaded).toContain(`${trusted}/inside`);
  expect(loaded).not.toContain(`${outsider}/intruder`);
  await expect(
    sidecar.invoke({ namespace: outsider, sandbox: 'intruder', requestId: 'x', payload: json({}) }),
  ).rejects.toMatchObject({ code: 5 /* NOT_FOUND */ });
  // The allowed one runs on undisturbed.
  const answer = await sidecar.invoke({
    namespace: trusted,
    sandbox: 'inside',
    requestId: 'y',
    payload: json({ name: 'Ada' }),
  });
  expect(answer.error).toBe('FUNCTION_ERROR_NONE');
  expect(parse(answer.result)).toBeDefined();
});
