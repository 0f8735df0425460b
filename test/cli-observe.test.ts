// End to end: what a user sees of running functions through `roost logs`,
// `roost stats` and `roost get`, against the whole system with real
// sidecars; and how the verbs find the cluster, gateway and token the way
// `roost dev` leaves them (.roost/dev.json), or from the invoke-token Secret.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Namespaces, Secrets } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { isAlreadyExists } from '../kube/errors.ts';
import { adminClient, createNamespace, kubeconfigPath } from './support/cluster.ts';
import { killLeftovers, roost, startRoost, systemEnv } from './support/roost-cli.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

let client: KubeClient;
let namespace: string;
let system: RoostSystem;
let env: Record<string, string>;
let scratch: string;
/** Request ids of the invocations made in beforeAll: two at once (one per Sandbox), then a warning. */
const ids = { a: '', b: '', warn: '' };

/** Logs a line when it starts, waits `sleep` ms, optionally warns. */
const CHATTY = `export const handler = async (event) => {
  const q = event.queryStringParameters ?? {};
  console.log(\`start \${q.n}\`);
  if (q.warn) console.warn(\`careful \${q.n}\`);
  await new Promise((resolve) => setTimeout(resolve, Number(q.sleep ?? 0)));
  return { n: q.n };
};
`;

const run = (args: string[]) => roost([...args, '-n', namespace], { env });
const requestIdOf = (stderr: string) => /request id: (\S+)/.exec(stderr)![1]!;

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'cli-observe');
  system = await startRoostSystem({ namespace });
  env = systemEnv(system);
  scratch = mkdtempSync(join(tmpdir(), 'roost-cli-observe-'));
  mkdirSync(join(scratch, 'chatty'));
  writeFileSync(join(scratch, 'chatty', 'index.mjs'), CHATTY);
  const deployed = await run([
    'deploy',
    join(scratch, 'chatty'),
    '--name',
    'chatty',
    '--replicas',
    '2',
    '--memory',
    '64',
    '--concurrency',
    '1',
  ]);
  expect(deployed.code, deployed.stderr).toBe(0);
  // Two at once, each holding its Sandbox for 2 s: the gateway sends the
  // second to the other Sandbox, so both sidecars have lines to merge.
  const [a, b] = await Promise.all([
    run(['invoke', 'chatty', '--http', '--path', '/?n=a&sleep=2000']),
    run(['invoke', 'chatty', '--http', '--path', '/?n=b&sleep=2000']),
  ]);
  const warned = await run(['invoke', 'chatty', '--http', '--path', '/?n=c&warn=1']);
  ids.a = requestIdOf(a!.stderr);
  ids.b = requestIdOf(b!.stderr);
  ids.warn = requestIdOf(warned.stderr);
}, 120_000);

afterAll(async () => {
  killLeftovers();
  await system?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  client?.close();
});

describe('roost logs', () => {
  test('merges the lines of every Sandbox in time order, each with time, level, sandbox and request id', async () => {
    const result = await run(['logs', 'chatty']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const pattern =
      /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (INFO |WARN ) (chatty-\S+) (\S+) (.*)$/;
    const parsed = lines.map((line) => {
      const match = pattern.exec(line);
      expect(match, line).not.toBeNull();
      return {
        time: match![1]!,
        level: match![2]!.trim(),
        sandbox: match![3]!,
        id: match![4]!,
        message: match![5]!,
      };
    });
    expect(parsed.map((l) => l.message).sort()).toEqual([
      'careful c',
      'start a',
      'start b',
      'start c',
    ]);
    expect(parsed.map((l) => l.time)).toEqual(parsed.map((l) => l.time).sort());
    const a = parsed.find((l) => l.message === 'start a')!;
    const b = parsed.find((l) => l.message === 'start b')!;
    expect(a.id).toBe(ids.a);
    expect(b.id).toBe(ids.b);
    // From two sidecars: the two concurrent calls ran in different Sandboxes.
    expect(a.sandbox).not.toBe(b.sandbox);
    expect(parsed.find((l) => l.message === 'careful c')).toMatchObject({
      level: 'WARN',
      id: ids.warn,
    });
  });

  test('filters by request id, level, text and count', async () => {
    const byId = await run(['logs', 'chatty', '--request-id', ids.a]);
    expect(byId.stdout.trim().split('\n')).toEqual([expect.stringMatching(/ start a$/)]);
    const warnings = await run(['logs', 'chatty', '--level', 'warn']);
    expect(warnings.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/ WARN .* careful c$/),
    ]);
    const grep = await run(['logs', 'chatty', '--grep', 'start', '--since', '10m']);
    expect(grep.stdout.trim().split('\n')).toHaveLength(3);
    const tail = await run(['logs', 'chatty', '--tail', '1']);
    expect(tail.stdout.trim().split('\n')).toEqual([expect.stringMatching(/ careful c$/)]);
    const future = await run([
      'logs',
      'chatty',
      '--since',
      new Date(Date.now() + 60_000).toISOString(),
    ]);
    expect(future.stdout).toBe('');
  });

  test('-o json prints one object a line', async () => {
    const result = await run(['logs', 'chatty', '-o', 'json', '--request-id', ids.warn]);
    const objects = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects).toEqual([
      expect.objectContaining({
        level: 'info',
        message: 'start c',
        requestId: ids.warn,
        deployment: 'chatty',
        namespace,
      }),
      expect.objectContaining({ level: 'warn', message: 'careful c', requestId: ids.warn }),
    ]);
  });

  test('-f follows new lines until interrupted, then exits 0', async () => {
    const following = startRoost(['logs', 'chatty', '-f', '-n', namespace], { env });
    await following.waitForStdout(/ careful c$/);
    const invoked = await run(['invoke', 'chatty', '--http', '--path', '/?n=live']);
    const line = await following.waitForStdout(/ start live$/);
    expect(line).toContain(requestIdOf(invoked.stderr));
    expect(await following.stop('SIGINT')).toBe(0);
    // Nothing was printed twice.
    expect(following.stdoutLines.filter((l) => l.endsWith(' careful c'))).toHaveLength(1);
  });

  test('of a function that does not exist: not found, exit code 3', async () => {
    const result = await run(['logs', 'nope']);
    expect(result.stderr).toContain(
      `No function ${namespace}/nope: there is no SandboxDeployment of that name`,
    );
    expect(result.code).toBe(3);
  });
});

describe('roost stats', () => {
  test('a row per Sandbox and the total: invocations, errors, timeouts, cold starts, p50, p99, CPU, RSS', async () => {
    const table = await run(['stats', 'chatty']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^SANDBOX\s+HOST\s+INVOCATIONS\s+ERRORS\s+TIMEOUTS\s+COLD STARTS\s+P50\s+P99\s+CPU\s+RSS$/,
    );
    expect(lines.slice(1, -1)).toHaveLength(2);
    expect(lines.at(-1)).toMatch(
      /^TOTAL\s+\d+\s+0\s+0\s+\d+\s+\S+ms\s+\S+s?\s+[\d.]+s\s+[\d.]+Mi$/,
    );

    const json = await run(['stats', 'chatty', '-o', 'json']);
    const stats = JSON.parse(json.stdout) as {
      sandboxes: { sandbox: string; invocations: number; pod: string; p99Ms: number }[];
      total: {
        invocations: number;
        errors: number;
        sandboxes: number;
        p99Ms: number;
        rssBytes: number;
      };
    };
    expect(stats.total.sandboxes).toBe(2);
    // Three in beforeAll, one while following logs (if the run got here in order, at least four).
    expect(stats.total.invocations).toBeGreaterThanOrEqual(3);
    expect(stats.total.invocations).toBe(stats.sandboxes.reduce((n, s) => n + s.invocations, 0));
    expect(stats.total.errors).toBe(0);
    // The two calls that slept 2 s are in the p99.
    expect(stats.total.p99Ms).toBeGreaterThanOrEqual(1900);
    expect(stats.total.rssBytes).toBeGreaterThan(0);
    expect(new Set(stats.sandboxes.map((s) => s.pod)).size).toBe(2);
  });

  test('with a token the sidecars do not accept: refused, exit code 1', async () => {
    const result = await roost(['stats', 'chatty', '-n', namespace], {
      env: { ...env, ROOST_INVOKE_TOKEN: 'not-the-token' },
    });
    expect(result.stderr).toMatch(
      /the sidecar of host pod \S+ at \S+ refused the invoke token; pass the one the sidecars use with --token-file or ROOST_INVOKE_TOKEN/,
    );
    expect(result.code).toBe(1);
  });
});

describe('roost get', () => {
  test('deployments reads like kubectl get deploy', async () => {
    const result = await run(['get', 'deployments']);
    expect(result.code).toBe(0);
    const [header, row] = result.stdout.trim().split('\n');
    expect(header).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+REVISION\s+RUNTIME\s+SCALE\s+AGE$/,
    );
    expect(row).toMatch(/^chatty\s+2\/2\s+2\s+2\s+1\s+nodejs\s+fixed\s+\d+[sm]/);
    const wide = await run(['get', 'deploy', '-o', 'wide']);
    expect(wide.stdout).toContain(`index.handler   ${system.gateway.url}/fn/${namespace}/chatty`);
    const json = JSON.parse((await run(['get', 'deploy', '-o', 'json'])).stdout) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    expect(json.kind).toBe('List');
    expect(json.items.map((d) => d.metadata.name)).toEqual(['chatty']);
  });

  test('sandboxes: ready, status, restarts and host pod', async () => {
    const result = await run(['get', 'sbx', '--deployment', 'chatty']);
    const [header, ...rows] = result.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+HOST\s+AGE$/);
    expect(rows).toHaveLength(2);
    for (const row of rows)
      expect(row).toMatch(
        new RegExp(`^chatty-\\S+\\s+1/1\\s+Running\\s+0\\s+${namespace}-host-\\d\\s+`),
      );
    const yaml = await run(['get', 'sandboxes', '-o', 'yaml']);
    expect(yaml.stdout).toMatch(/^kind: List$/m);
    expect(yaml.stdout).toMatch(/address: 127\.\d+\.\d+\.\d+:\d+/);
  });

  test('hosts: ready, runtimes, the Sandboxes packed into each and free capacity', async () => {
    const result = await run(['get', 'hosts']);
    const [header, ...rows] = result.stdout.trim().split('\n');
    expect(header).toMatch(
      /^NAMESPACE\s+NAME\s+READY\s+RUNTIMES\s+SANDBOXES\s+MEMORY FREE\s+CPU FREE\s+AGE$/,
    );
    expect(rows).toHaveLength(3);
    for (const row of rows)
      expect(row).toMatch(
        new RegExp(`^${namespace}\\s+${namespace}-host-\\d\\s+True\\s+nodejs\\s+`),
      );
    const json = JSON.parse((await run(['get', 'hosts', '-o', 'json'])).stdout) as {
      hosts: {
        sandboxes: string[];
        free: { memoryMiB: number };
        capacity: { memoryMiB: number };
        ready: boolean;
      }[];
    };
    const packed = json.hosts.flatMap((h) => h.sandboxes);
    expect(packed).toHaveLength(2);
    for (const name of packed) expect(name).toMatch(new RegExp(`^${namespace}/chatty-`));
    // Each Sandbox asked for 64 MiB of its host pod.
    for (const host of json.hosts)
      expect(host.free.memoryMiB).toBe(host.capacity.memoryMiB - 64 * host.sandboxes.length);
  });
});

describe('where the verbs find the cluster, gateway and token', () => {
  test('in the directory of roost dev: .roost/dev.json and .roost/kubeconfig, with no flag or variable', async () => {
    const project = join(scratch, 'dev-project');
    mkdirSync(join(project, '.roost'), { recursive: true });
    copyFileSync(kubeconfigPath(), join(project, '.roost', 'kubeconfig'));
    writeFileSync(
      join(project, '.roost', 'dev.json'),
      JSON.stringify({
        kubeconfig: '.roost/kubeconfig',
        gateway: { url: system.gateway.url, pid: system.gateway.process.pid },
        token: system.hosts.token,
        components: [],
      }),
    );
    const inProject = (args: string[]) => roost([...args, '-n', namespace], { cwd: project });
    const got = await inProject(['get', 'sbx']);
    expect(got.stdout).toMatch(/^chatty-/m);
    const invoked = await inProject(['invoke', 'chatty', '--http', '--path', '/?n=dev']);
    expect(JSON.parse(invoked.stdout)).toEqual({ n: 'dev' });
    const stats = await inProject(['stats', 'chatty']);
    expect(stats.stdout).toMatch(/^TOTAL/m);
    expect([got.code, invoked.code, stats.code]).toEqual([0, 0, 0]);
  });

  test('the invoke token from the Secret roost-system/roost-invoke-token when nothing else gives one', async () => {
    try {
      await client.create(Namespaces, { metadata: { name: 'roost-system' } });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    await client.create(Secrets, {
      metadata: { namespace: 'roost-system', name: 'roost-invoke-token' },
      stringData: { token: system.hosts.token },
    });
    try {
      const result = await roost(['logs', 'chatty', '--request-id', ids.a, '-n', namespace], {
        env: { KUBECONFIG: kubeconfigPath() },
      });
      expect(result.stdout).toMatch(/ start a$/m);
      expect(result.code).toBe(0);
    } finally {
      await client.delete(Secrets, { namespace: 'roost-system', name: 'roost-invoke-token' });
    }
  });
});

test('an autoscaled function (--min 0 --max 2) shows its bounds in roost get and answers', async () => {
  const deployed = await run([
    'deploy',
    join(scratch, 'chatty', 'index.mjs'),
    '--name',
    'elastic',
    '--min',
    '0',
    '--max',
    '2',
    '--memory',
    '64',
  ]);
  expect(deployed.code, deployed.stderr).toBe(0);
  const got = await run(['get', 'deployments']);
  expect(got.stdout).toMatch(/^elastic\s+\S+\s+\d+\s+\d+\s+1\s+nodejs\s+0\.\.2 auto\s+/m);
  const invoked = await run(['invoke', 'elastic', '--http', '--path', '/?n=up']);
  expect(JSON.parse(invoked.stdout)).toEqual({ n: 'up' });
});
