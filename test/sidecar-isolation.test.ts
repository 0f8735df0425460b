// Functions that misbehave fail alone: a crash, a memory hog and an endless
// loop each get restarted or killed while a neighbour on the same host pod
// keeps answering; and a function can reach nothing but its own code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, kubeconfigPath } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { inlineSandbox, json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';
import { Pods, Sandboxes } from '../kube/api/resources.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';

const client = adminClient();
/** Grows its resident memory by 1 MiB every 5 ms, in Buffers (outside V8's heap). */
const RSS_HOG = `const kept = []; export const handler = async () => { for (let i = 0; i < 400; i++) { kept.push(Buffer.alloc(1 << 20, 1)); await new Promise((r) => setTimeout(r, 5)); } return 'survived'; };`;
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;

beforeAll(async () => {
  namespace = await createNamespace(client, 'isolation');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({ name: 'host-isolation' });
  sidecar = hosts.connect(host.address);
  await client.create(
    Sandboxes,
    inlineSandbox(
      namespace,
      'neighbour',
      host.name,
      `export const handler = async (e) => ({ echo: e.n, pid: process.pid });`,
    ),
  );
  await waitUntilReady(client, namespace, 'neighbour');
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

/**
 * Invokes the neighbour every 20 ms until stopped, and for at least 30 calls
 * so that it overlaps the trouble next door; returns the calls and failures.
 */
function keepInvokingNeighbour() {
  let running = true;
  const failures: string[] = [];
  let calls = 0;
  const loop = (async () => {
    while (running) {
      calls++;
      try {
        const response = await invoke('neighbour', { n: calls });
        if (
          response.error !== 'FUNCTION_ERROR_NONE' ||
          parse<{ echo: number }>(response.result).echo !== calls
        )
          failures.push(`call ${calls}: ${response.error} ${response.errorMessage}`);
      } catch (err) {
        failures.push(`call ${calls}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      while (calls < 30) await new Promise((r) => setTimeout(r, 20));
      running = false;
      await loop;
      return { calls, failures };
    },
  };
}

describe('a misbehaving function fails alone', () => {
  test('process.exit ends the invocation as a crash, the function restarts, the neighbour never notices', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'exits',
        host.name,
        `export const handler = async (e) => { if (e.exit) process.exit(3); return 'alive'; };`,
      ),
    );
    await waitUntilReady(client, namespace, 'exits');
    const neighbour = keepInvokingNeighbour();
    const crashed = await invoke('exits', { exit: true });
    expect(crashed.error).toBe('FUNCTION_ERROR_CRASHED');
    const status = await waitForStatus(
      client,
      namespace,
      'exits',
      (s) =>
        s.restartCount === 1 &&
        s.phase === 'Running' &&
        s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
      'the restart',
    );
    expect(status.lastTermination).toMatchObject({ reason: 'Error', exitCode: 3 });
    expect(parse((await invoke('exits')).result)).toBe('alive');
    const { calls, failures } = await neighbour.stop();
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(30);
  });

  test('a function that allocates until it hits its heap limit is OOMKilled and restarted', async () => {
    const source = `export const handler = async () => { const hog = []; for (;;) hog.push(new Array(1e5).fill({ x: Math.random() })); };`;
    await client.create(
      Sandboxes,
      inlineSandbox(namespace, 'heap-hog', host.name, source, {
        memoryMiB: 32,
        timeoutSeconds: 30,
      }),
    );
    await waitUntilReady(client, namespace, 'heap-hog');
    const neighbour = keepInvokingNeighbour();
    const response = await invoke('heap-hog');
    expect(response.error).toBe('FUNCTION_ERROR_OUT_OF_MEMORY');
    const status = await waitForStatus(
      client,
      namespace,
      'heap-hog',
      (s) => s.restartCount === 1,
      'the restart after OOM',
    );
    expect(status.lastTermination?.reason).toBe('OOMKilled');
    const { failures } = await neighbour.stop();
    expect(failures).toEqual([]);
  });

  test('a function that grows its resident memory past the limit is killed by the kernel at it, as OOMKilled', async () => {
    // Buffers live outside V8's heap: only the cgroup's hard limit stops them in time.
    await client.create(
      Sandboxes,
      inlineSandbox(namespace, 'rss-hog', host.name, RSS_HOG, {
        memoryMiB: 32,
        timeoutSeconds: 30,
      }),
    );
    await waitUntilReady(client, namespace, 'rss-hog');
    const response = await invoke('rss-hog');
    expect(response.error).toBe('FUNCTION_ERROR_OUT_OF_MEMORY');
    expect(response.errorMessage).toMatch(
      /the kernel killed it at its memory limit of 96 MiB \(peak 9\d MiB\)/,
    );
    const status = await waitForStatus(
      client,
      namespace,
      'rss-hog',
      (s) => s.restartCount === 1,
      'the restart after OOM',
    );
    expect(status.lastTermination).toMatchObject({ reason: 'OOMKilled', signal: 'SIGKILL' });
  });

  test('without cgroups or user ids, the host pod says its isolation is weak and samples memory fast enough', async () => {
    const weak = await hosts.add({
      name: 'host-isolation-weak',
      sidecarArgs: ['--cgroups=off', '--function-uids=off'],
    });
    const pod = await client.get(Pods, { namespace, name: weak.name });
    expect(pod.metadata.annotations?.['roost.dev/isolation']).toBe('weak');
    expect(pod.metadata.annotations?.['roost.dev/isolation-details']).toContain(
      'per-function user ids are turned off (--function-uids off)',
    );
    expect(
      readFileSync(join(hosts.dir, `${namespace}-${weak.name}`, 'sidecar.log'), 'utf8'),
    ).toContain('WEAKER FUNCTION ISOLATION on this host pod');
    await client.create(
      Sandboxes,
      inlineSandbox(namespace, 'rss-hog-weak', weak.name, RSS_HOG, {
        memoryMiB: 32,
        timeoutSeconds: 30,
      }),
    );
    await waitUntilReady(client, namespace, 'rss-hog-weak');
    const weakSidecar = hosts.connect(weak.address);
    const response = await weakSidecar.invoke({
      namespace,
      sandbox: 'rss-hog-weak',
      requestId: 'weak',
      payload: json({}),
    });
    expect(response.error).toBe('FUNCTION_ERROR_OUT_OF_MEMORY');
    // Sampled every 50 ms: at 1 MiB every 5 ms it is caught within a tenth of its limit.
    const [, mib] = /resident memory (\d+) MiB went over the limit of 96 MiB/.exec(
      response.errorMessage,
    )!;
    expect(Number(mib)).toBeLessThanOrEqual(96 * 1.1);
  });

  test('an endless loop times out, its unresponsive process is killed and restarted', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'spins',
        host.name,
        `export const handler = async (e) => { if (e.spin) for (;;) {} return 'done'; };`,
        { timeoutSeconds: 1 },
      ),
    );
    await waitUntilReady(client, namespace, 'spins');
    const neighbour = keepInvokingNeighbour();
    const started = Date.now();
    const response = await invoke('spins', { spin: true });
    expect(response.error).toBe('FUNCTION_ERROR_TIMEOUT');
    expect(response.errorMessage).toBe('Task timed out after 1.00 seconds');
    expect(Date.now() - started).toBeLessThan(2500);
    // Sent while the sidecar decides whether the process is stuck: it must not
    // go down with the process it would have been queued behind. It is run by
    // the restarted process, or refused as not ready (which a gateway retries).
    const next = await invoke('spins').catch((err: { code: number }) => err);
    if ('error' in next) {
      expect(next.error).toBe('FUNCTION_ERROR_NONE');
      expect(parse(next.result)).toBe('done');
    } else expect(next.code).toBe(9 /* FAILED_PRECONDITION */);
    const status = await waitForStatus(
      client,
      namespace,
      'spins',
      (s) => s.restartCount === 1 && s.phase === 'Running',
      'the restart after the timeout',
    );
    expect(status.lastTermination?.reason).toBe('Timeout');
    await waitUntilReady(client, namespace, 'spins');
    expect(parse((await invoke('spins')).result)).toBe('done');
    const { failures } = await neighbour.stop();
    expect(failures).toEqual([]);
  });

  test('a function that keeps crashing backs off between restarts (CrashLoopBackOff)', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'crash-loop',
        host.name,
        `setTimeout(() => { throw new Error('boom at start'); }, 50); export const handler = async () => 'never';`,
      ),
    );
    const status = await waitForStatus(
      client,
      namespace,
      'crash-loop',
      (s) => s.reason === 'CrashLoopBackOff' && (s.restartCount ?? 0) >= 2,
      'CrashLoopBackOff',
    );
    expect(status.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'CrashLoopBackOff',
    });
    expect(status.lastTermination?.message).toContain('boom at start');
    await expect(invoke('crash-loop')).rejects.toMatchObject({ code: 9 /* FAILED_PRECONDITION */ });
  });
});

describe('a function reaches nothing but its own code', () => {
  const probe = `
    import { readFileSync } from 'node:fs';
import { join } from 'node:path';
    import { spawnSync } from 'node:child_process';
    import { Worker } from 'node:worker_threads';
    const attempt = (fn) => { try { fn(); return 'allowed'; } catch (err) { return err.code ?? err.message; } };
    export const handler = async (paths) => ({
      own: attempt(() => readFileSync(new URL('./index.mjs', import.meta.url))),
      files: Object.fromEntries(Object.entries(paths).map(([name, path]) => [name, attempt(() => readFileSync(path))])),
      spawn: attempt(() => spawnSync('id')),
      worker: attempt(() => new Worker('console.log(1)', { eval: true })),
      kill: attempt(() => process.kill(process.ppid, 'SIGTERM')),
    });`;

  test('reading another function, /etc/shadow, the kubeconfig or the sidecar environment, spawning and signalling are all refused', async () => {
    await client.create(Sandboxes, inlineSandbox(namespace, 'prober', host.name, probe));
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'secret-keeper',
        host.name,
        `// secret: 42\nexport const handler = async () => 'mine';`,
      ),
    );
    await waitUntilReady(client, namespace, 'prober');
    await waitUntilReady(client, namespace, 'secret-keeper');
    const codeDir = `${hosts.dir}/${namespace}-${host.name}/code`;
    const otherCode = (await import('node:fs'))
      .readdirSync(codeDir)
      .map((d) => `${codeDir}/${d}/index.mjs`);
    const sidecarPid = host.process.pid!;
    const paths = {
      shadow: '/etc/shadow',
      kubeconfig: kubeconfigPath(),
      sidecarEnviron: `/proc/${sidecarPid}/environ`,
      ...Object.fromEntries(otherCode.map((path, i) => [`code${i}`, path])),
    };
    expect(readFileSync(kubeconfigPath(), 'utf8')).toContain('token');
    const result = parse<{
      own: string;
      files: Record<string, string>;
      spawn: string;
      worker: string;
      kill: string;
    }>((await invoke('prober', paths)).result);
    expect(result.own).toBe('allowed');
    for (const [name, outcome] of Object.entries(result.files))
      expect(outcome, name).toBe('ERR_ACCESS_DENIED');
    expect(
      Object.keys(result.files).filter((k) => k.startsWith('code')).length,
    ).toBeGreaterThanOrEqual(2);
    expect(result.spawn).toBe('ERR_ACCESS_DENIED');
    expect(result.worker).toBe('ERR_ACCESS_DENIED');
    expect(result.kill).toBe('ERR_ACCESS_DENIED');
    expect(host.process.exit).toBeUndefined();
  });

  test('an Invoke without the token, or with a wrong one, is refused', async () => {
    const anonymous = hosts.connect(host.address, '');
    await expect(
      anonymous.invoke({ namespace, sandbox: 'neighbour', requestId: 'x', payload: json({}) }),
    ).rejects.toMatchObject({ code: 16 /* UNAUTHENTICATED */ });
    const wrong = hosts.connect(host.address, 'not-the-token');
    await expect(
      wrong.invoke({ namespace, sandbox: 'neighbour', requestId: 'x', payload: json({}) }),
    ).rejects.toMatchObject({ code: 16 });
    await expect(wrong.stats()).rejects.toMatchObject({ code: 16 });
  });
});
