// The life of host pods and Sandboxes around the sidecar: registration, the
// heartbeat, unplugging, hibernation, logs and stats, and host pods deleted
// the way a user deletes them.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { inlineSandbox, json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';
import { Leases, Pods, Sandboxes } from '../kube/api/resources.ts';
import { isNotFound } from '../kube/errors.ts';
import type { LogEntry } from '../proto/sandbox-host.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;

beforeAll(async () => {
  namespace = await createNamespace(client, 'lifecycle');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({
    name: 'host-life',
    memoryMiB: 1536,
    cpuMillis: 1500,
    sidecarArgs: ['--hibernate-after=1500ms', '--keep-unused-code=0s'],
  });
  sidecar = hosts.connect(host.address);
});

afterAll(async () => {
  await hosts?.stop();
});

const alive = (pid: number) => existsSync(`/proc/${pid}`);
const gone = async (name: string) => {
  try {
    await client.get(Sandboxes, { namespace, name });
    return false;
  } catch (err) {
    return isNotFound(err);
  }
};

describe('host pod registration', () => {
  test('the sidecar publishes capacity, renews its Lease and opens the readiness gate', async () => {
    const pod = await client.get(Pods, { namespace, name: host.name });
    expect(pod.metadata.annotations).toMatchObject({
      'roost.dev/capacity-memory-mib': '1536',
      'roost.dev/capacity-cpu-millis': '1500',
      'roost.dev/runtimes': 'nodejs',
      'roost.dev/sidecar-port': String(host.port),
    });
    const conditions = await eventually(
      async () => {
        const current =
          (await client.get(Pods, { namespace, name: host.name })).status?.conditions ?? [];
        return current.some((c) => c.type === 'Ready' && c.status === 'True') ? current : undefined;
      },
      { what: 'the pod to be Ready' },
    );
    expect(conditions.find((c) => c.type === 'roost.dev/host-ready')).toMatchObject({
      status: 'True',
    });
    const lease = await client.get(Leases, { namespace, name: host.name });
    expect(lease.spec.holderIdentity).toBe(host.name);
    expect(Date.now() - Date.parse(lease.spec.renewTime!)).toBeLessThan(15_000);
  });
});

describe('unplugging', () => {
  test('deleting a Sandbox waits for its in-flight invocation, then removes its process, code and finalizer', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'slow',
        host.name,
        `export const handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return process.pid; };`,
      ),
    );
    await waitUntilReady(client, namespace, 'slow');
    const sandbox = await client.get(Sandboxes, { namespace, name: 'slow' });
    expect(sandbox.metadata.finalizers).toContain('roost.dev/sidecar');
    const pid = parse<number>(
      (
        await sidecar.invoke({
          namespace,
          sandbox: 'slow',
          requestId: 'pid',
          payload: json({ ms: 0 }),
        })
      ).result,
    );
    expect(alive(pid)).toBe(true);
    const codeDir = join(hosts.dir, `${namespace}-${host.name}`, 'code');
    const inFlight = sidecar.invoke({
      namespace,
      sandbox: 'slow',
      requestId: 'in-flight',
      payload: json({ ms: 800 }),
    });
    await new Promise((r) => setTimeout(r, 100));
    await client.delete(Sandboxes, { namespace, name: 'slow' });
    await waitForStatus(
      client,
      namespace,
      'slow',
      (s) => s.phase === 'Terminating',
      'Terminating',
    ).catch(() => undefined);
    const late = sidecar.invoke({
      namespace,
      sandbox: 'slow',
      requestId: 'late',
      payload: json({ ms: 0 }),
    });
    await expect(late).rejects.toMatchObject({ code: expect.any(Number) });
    expect(parse<number>((await inFlight).result)).toBe(pid);
    await eventually(() => gone('slow'), { what: 'the Sandbox to be deleted' });
    await eventually(() => !alive(pid), { what: 'its process to exit' });
    await eventually(() => readdirSync(codeDir).filter((d) => !d.startsWith('.')).length === 0, {
      what: 'its code to be dropped',
    });
  });
});

describe('hibernation', () => {
  test('an idle Sandbox hibernates, stays Ready, and its next invocation resumes it', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'sleepy',
        host.name,
        `let calls = 0; export const handler = async () => ({ pid: process.pid, calls: ++calls });`,
      ),
    );
    await waitUntilReady(client, namespace, 'sleepy');
    const first = parse<{ pid: number }>(
      (await sidecar.invoke({ namespace, sandbox: 'sleepy', requestId: 'a', payload: json({}) }))
        .result,
    );
    const status = await waitForStatus(
      client,
      namespace,
      'sleepy',
      (s) => s.hibernated === true,
      'hibernation',
      10_000,
    );
    expect(status.phase).toBe('Running');
    expect(status.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Hibernated',
    });
    await eventually(() => !alive(first.pid), { what: 'the hibernated process to exit' });
    const resumed = await sidecar.invoke({
      namespace,
      sandbox: 'sleepy',
      requestId: 'b',
      payload: json({}),
    });
    expect(resumed.coldStart).toBe(true);
    const after = parse<{ pid: number; calls: number }>(resumed.result);
    expect(after.pid).not.toBe(first.pid);
    expect(after.calls).toBe(1);
    await waitForStatus(
      client,
      namespace,
      'sleepy',
      (s) => s.hibernated === false,
      'the resume to show',
      5_000,
    );
  });
});

describe('logs and stats', () => {
  test('Logs filters by request id, level and text, and follows new lines', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'chatty',
        host.name,
        `export const handler = async (e) => { console.log('hello', e.who); console.warn('careful', e.who); process.stdout.write('raw ' + e.who + '\\n'); return 'ok'; };`,
        { concurrency: 4 },
      ),
    );
    await waitUntilReady(client, namespace, 'chatty');
    await Promise.all(
      ['ann', 'bob'].map((who) =>
        sidecar.invoke({
          namespace,
          sandbox: 'chatty',
          requestId: `req-${who}`,
          payload: json({ who }),
        }),
      ),
    );
    const collect = (request: Parameters<SandboxHostConnection['logs']>[0]) =>
      new Promise<LogEntry[]>((resolve, reject) => {
        const lines: LogEntry[] = [];
        const stream = sidecar.logs({ namespace, sandbox: 'chatty', ...request });
        stream.on('data', (line: LogEntry) => lines.push(line));
        stream.on('end', () => resolve(lines));
        stream.on('error', reject);
      });
    const bob = await collect({ requestId: 'req-bob' });
    expect(bob.map((l) => [l.level, l.message, l.stream])).toEqual([
      ['LOG_LEVEL_INFO', 'hello bob', 'console'],
      ['LOG_LEVEL_WARN', 'careful bob', 'console'],
      ['LOG_LEVEL_INFO', 'raw bob', 'stdout'],
    ]);
    const warnings = await collect({ minLevel: 'LOG_LEVEL_WARN' });
    expect(warnings.map((l) => l.message).sort()).toEqual(['careful ann', 'careful bob']);
    expect((await collect({ contains: 'raw a' })).map((l) => l.requestId)).toEqual(['req-ann']);

    const followed: LogEntry[] = [];
    const stream = sidecar.logs({
      namespace,
      sandbox: 'chatty',
      follow: true,
      sinceMs: Date.now(),
    });
    stream.on('data', (line: LogEntry) => followed.push(line));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    await sidecar.invoke({
      namespace,
      sandbox: 'chatty',
      requestId: 'req-cy',
      payload: json({ who: 'cy' }),
    });
    await eventually(() => followed.some((l) => l.message === 'raw cy'), {
      what: 'the followed line',
    });
    stream.cancel();
  });

  test('Stats counts invocations, errors and cold starts with latency percentiles', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'counted',
        host.name,
        `export const handler = async (e) => { if (e.fail) throw new Error('no'); return 1; };`,
      ),
    );
    await waitUntilReady(client, namespace, 'counted');
    for (const fail of [false, false, true])
      await sidecar.invoke({
        namespace,
        sandbox: 'counted',
        requestId: 's',
        payload: json({ fail }),
      });
    const { pod, sandboxes } = await sidecar.stats({ namespace, sandbox: 'counted' });
    expect(pod).toBe(host.name);
    expect(sandboxes).toHaveLength(1);
    expect(sandboxes[0]).toMatchObject({
      sandbox: 'counted',
      runtime: 'nodejs',
      invocations: 3,
      errors: 1,
      timeouts: 0,
      inFlight: 0,
      restarts: 0,
    });
    expect(sandboxes[0]!.p99Ms).toBeGreaterThanOrEqual(sandboxes[0]!.p50Ms);
    expect(sandboxes[0]!.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe('deleting host pods', () => {
  test('kubectl delete pod stops that sidecar gracefully and the pod goes away', async () => {
    const doomed = await hosts.add({ name: 'host-doomed' });
    const result = await kubectl([
      'delete',
      'pod',
      doomed.name,
      '-n',
      namespace,
      '--wait=true',
      '--timeout=30s',
    ]);
    const exit = await doomed.process.exited;
    // One object, so that a failure shows kubectl's and the sidecar's side together.
    expect({ kubectl: result, exit, sidecarStderr: doomed.process.stderrTail }).toMatchObject({
      kubectl: { code: 0, stderr: '' },
      exit: { code: 0, signal: null },
    });
  });

  test('kubectl delete pod --force --grace-period=0 kills that sidecar at once', async () => {
    const doomed = await hosts.add({ name: 'host-forced' });
    await kubectl(['delete', 'pod', doomed.name, '-n', namespace, '--force', '--grace-period=0']);
    const exit = await doomed.process.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(host.process.exit).toBeUndefined();
  });
});
