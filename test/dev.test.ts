// `roost dev` as a person runs it: a subprocess in a directory of its own,
// waited on for its "ready" line, then used with kubectl and curl exactly as
// it says, stopped with SIGTERM, and checked for leftovers.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../lib/ports.ts';
import { startProcess, type ManagedProcess } from '../lib/process.ts';
import type { DevState } from '../cli/dev/state.ts';
import { eventually } from './support/cluster.ts';

const ROOST = join(import.meta.dirname, '..', 'cli', 'roost.ts');
const run = promisify(execFile);
let dir: string;
let dev: ManagedProcess;
const output: string[] = [];
let state: DevState;

const alive = (pid: number | undefined) => pid !== undefined && existsSync(`/proc/${pid}`);

/** Every process whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map((pid) => {
      try {
        return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
      } catch {
        return '';
      }
    })
    .filter((line) => line.includes(text));
}

const kubectl = (...args: string[]) =>
  run('kubectl', ['--kubeconfig', join(dir, '.roost', 'kubeconfig'), ...args], { cwd: dir });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-dev-test-'));
  // As a project directory usually is: others may pass through it, so that
  // function processes, each under a user id of its own, reach their slots.
  chmodSync(dir, 0o711);
  const port = await freePort();
  dev = startProcess({
    name: 'roost dev',
    command: process.execPath,
    args: [
      ROOST,
      'dev',
      `--port=${port}`,
      '--hosts=2',
      '--host-memory=1024',
      '--java=off',
      '--allowed-namespaces=default,team-a',
    ],
    cwd: dir,
    env: { ...process.env, ROOST_LOG_LEVEL: 'warn' },
    onLine: (line) => output.push(line),
  });
  await eventually(() => output.some((line) => line.includes('ready')) || dev.exit !== undefined, {
    what: 'roost dev to say ready',
    timeoutMs: 170_000,
    intervalMs: 200,
  });
  expect(dev.exit, output.join('\n')).toBeUndefined();
  state = JSON.parse(readFileSync(join(dir, '.roost', 'dev.json'), 'utf8')) as DevState;
}, 180_000);

afterAll(async () => {
  await dev?.stop(20_000);
  rmSync(dir, { recursive: true, force: true });
});

test('it writes .roost/kubeconfig and .roost/dev.json with every component', () => {
  expect(existsSync(join(dir, '.roost', 'kubeconfig'))).toBe(true);
  const names = state.components.map((c) => c.name);
  expect(names).toEqual(
    expect.arrayContaining([
      'kube-apiserver',
      'etcd',
      'kube-controller-manager',
      'nats-server',
      'roost controller',
      'roost gateway',
      'roost triggers',
      'roost console',
      'sidecar roost-system/host-1',
      'sidecar roost-system/host-2',
    ]),
  );
  for (const component of state.components) expect(alive(component.pid), component.name).toBe(true);
  // The event queue is printed with its address, as the other components are.
  const nats = state.components.find((c) => c.name === 'nats-server')!;
  expect(output.some((l) => l.includes(`event queue: NATS JetStream at ${nats.address}`))).toBe(
    true,
  );
});

test('roost invoke --data passes the event itself, and --async queues it durably', async () => {
  const roost = (args: string[]) => run(process.execPath, [ROOST, ...args], { cwd: dir });
  const { stdout } = await roost(['invoke', 'hello', '--data', '{"name":"Ada"}']);
  expect(JSON.parse(stdout)).toMatchObject({ message: 'Hello, Ada!' });
  const queued = await roost(['invoke', 'hello', '--data', '{}', '--async']);
  expect(queued.stderr).toMatch(/request id: \S+ \(queued\)/);
});

test("dev.json gives each Roost component's /metrics, which answer with the token", async () => {
  // The console is a viewer of the others' figures, with no series of its own.
  const roost = state.components.filter(
    (c) => /^(roost |sidecar )/.test(c.name) && c.name !== 'roost console',
  );
  expect(roost.length).toBeGreaterThanOrEqual(4);
  for (const component of roost) {
    expect(component.metrics, component.name).toMatch(/^http:\/\/[\d.]+:\d+\/metrics$/);
    const response = await fetch(component.metrics!, {
      headers: { authorization: `Bearer ${state.token}` },
    });
    expect(response.status, component.name).toBe(200);
    expect(await response.text(), component.name).toMatch(/^roost_\w+ /m);
  }
});

test('it prints the console and a login link that lets a browser in once; roost console --open makes another', async () => {
  const link = output.map((l) => l.trim()).find((l) => l.includes('/login?ticket='))!;
  expect(link).toContain(state.console!.url);
  const first = await fetch(link, { redirect: 'manual' });
  expect(first.status).toBe(303);
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
  const session = await fetch(`${state.console!.url}/api/session`, { headers: { cookie } });
  expect(session.status).toBe(200);
  expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);

  const { stdout } = await run(process.execPath, [ROOST, 'console', '--open'], { cwd: dir });
  const another = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.includes('/login?ticket='))!;
  expect((await fetch(another, { redirect: 'manual' })).status).toBe(303);
});

test('the curl line it prints returns the example answer, and kubectl works as printed', async () => {
  const curlLine = output
    .map((l) => l.trim())
    .find((l) => l.startsWith('curl') && l.includes('/fn/default/hello'));
  expect(curlLine).toBeDefined();
  const { stdout } = await run('sh', ['-c', curlLine!], { cwd: dir });
  expect(JSON.parse(stdout)).toMatchObject({ message: 'Hello, Roost!' });
  const exportLine = output.find((l) => l.includes('export KUBECONFIG='))!.trim();
  const { stdout: listed } = await run(
    'sh',
    ['-c', `${exportLine} && kubectl get sbxdeploy -n default`],
    { cwd: dir },
  );
  expect(listed).toMatch(/hello\s+1\/1/);
});

test('a second roost dev in the same directory says plainly that one is running', async () => {
  const second = await run(process.execPath, [ROOST, 'dev', '--port=1'], { cwd: dir }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  expect(second).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('roost dev is already running here'),
  });
});

test("kubectl delete pod stops that host pod's sidecar, and roost host add starts another", async () => {
  const sidecar = state.components.find((c) => c.name === 'sidecar roost-system/host-2')!;
  await kubectl('delete', 'pod', 'host-2', '-n', 'roost-system');
  await eventually(() => !alive(sidecar.pid), {
    what: 'the sidecar of host-2 to stop',
    timeoutMs: 30_000,
  });
  const added = await run(process.execPath, [ROOST, 'host', 'add', '--name=host-9'], { cwd: dir });
  // Like the host pods roost dev started, down to the namespaces it takes.
  expect(added.stdout).toContain(
    'host pod roost-system/host-9 added (1024 MiB, nodejs; namespaces default,team-a)',
  );
  await eventually(
    async () => {
      const { stdout } = await kubectl(
        'get',
        'pod',
        'host-9',
        '-n',
        'roost-system',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      );
      return stdout === 'True';
    },
    { what: 'host-9 to be Ready', timeoutMs: 30_000 },
  );
  // dev.json follows: host-9's sidecar is listed, host-2's is gone.
  state = await eventually(() => {
    const now = JSON.parse(readFileSync(join(dir, '.roost', 'dev.json'), 'utf8')) as DevState;
    const names = now.components.map((c) => c.name);
    return names.includes('sidecar roost-system/host-9') &&
      !names.includes('sidecar roost-system/host-2')
      ? now
      : undefined;
  });
  const added9 = state.components.find((c) => c.name === 'sidecar roost-system/host-9')!;
  expect(alive(added9.pid)).toBe(true);
  for (const pod of ['host-1', 'host-9']) {
    const { stdout: annotations } = await kubectl(
      'get',
      'pod',
      pod,
      '-n',
      'roost-system',
      '-o',
      'jsonpath={.metadata.annotations}',
    );
    expect(JSON.parse(annotations), pod).toMatchObject({
      'roost.dev/allowed-namespaces': 'default,team-a',
      'roost.dev/isolation': 'strong',
    });
  }
});

const readState = () =>
  JSON.parse(readFileSync(join(dir, '.roost', 'dev.json'), 'utf8')) as DevState;
const pidOf = (from: DevState, name: string) => from.components.find((c) => c.name === name)?.pid;

test('a gateway or sidecar that dies is restarted, roost dev says so, and dev.json has the new pids', async () => {
  const before = readState();
  const gatewayPid = pidOf(before, 'roost gateway')!;
  const sidecarPid = pidOf(before, 'sidecar roost-system/host-1')!;
  process.kill(gatewayPid, 'SIGKILL');
  process.kill(sidecarPid, 'SIGKILL');
  const after = await eventually(
    () => {
      const now = readState();
      const gateway = pidOf(now, 'roost gateway');
      const sidecar = pidOf(now, 'sidecar roost-system/host-1');
      return gateway !== gatewayPid && sidecar !== sidecarPid && alive(gateway) && alive(sidecar)
        ? now
        : undefined;
    },
    { what: 'dev.json to name the restarted gateway and sidecar', timeoutMs: 60_000 },
  );
  expect(after.gateway.pid).toBe(pidOf(after, 'roost gateway'));
  const said = output.join('\n');
  expect(said).toMatch(
    /! roost gateway exited \(code null, signal SIGKILL\); restarting in \d+ ms/,
  );
  expect(said).toMatch(/! roost gateway restarted \(pid \d+, restart 1\)/);
  expect(said).toMatch(
    /! the sidecar of host pod roost-system\/host-1 exited \(code null, signal SIGKILL\); restarting it in \d+ ms/,
  );
  expect(said).toMatch(/! the sidecar of host pod roost-system\/host-1 restarted/);
  // The pod says so too, as kubectl shows a restarted container.
  const { stdout: restarts } = await kubectl(
    'get',
    'pod',
    'host-1',
    '-n',
    'roost-system',
    '-o',
    'jsonpath={.status.containerStatuses[0].restartCount}',
  );
  expect(restarts).toBe('1');
  // And the example answers again through the restarted gateway.
  await eventually(
    async () => {
      const response = await fetch(`${after.gateway.url}/fn/default/hello`);
      return response.status === 200;
    },
    { what: 'hello to answer again', timeoutMs: 30_000 },
  );
  state = after;
});

test('the event queue that dies is restarted on the same address and store, and events run again', async () => {
  const before = readState();
  const queue = before.components.find((c) => c.name === 'nats-server')!;
  const succeeded = async () => {
    const response = await fetch(`${before.gateway.url}/metrics`, {
      headers: { authorization: `Bearer ${before.token}` },
    });
    const line = (await response.text())
      .split('\n')
      .find(
        (l) =>
          l.startsWith('roost_gateway_events_total{') &&
          l.includes('namespace="default"') &&
          l.includes('function="hello"') &&
          l.includes('outcome="succeeded"'),
      );
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const ranBefore = await succeeded();
  process.kill(queue.pid!, 'SIGKILL');
  const after = await eventually(
    () => {
      const now = readState().components.find((c) => c.name === 'nats-server')!;
      return now.pid !== queue.pid && alive(now.pid) ? now : undefined;
    },
    { what: 'dev.json to name the restarted nats-server', timeoutMs: 30_000 },
  );
  expect(after.address).toBe(queue.address);
  const said = output.join('\n');
  expect(said).toMatch(/! nats-server exited \(code null, signal SIGKILL\); restarting in \d+ ms/);
  expect(said).toMatch(/! nats-server restarted \(pid \d+, restart 1\)/);
  // The gateway finds it again by itself: an event is accepted and run.
  const roost = (args: string[]) => run(process.execPath, [ROOST, ...args], { cwd: dir });
  await eventually(
    async () => {
      const queued = await roost(['invoke', 'hello', '--data', '{}', '--async']).catch(() => null);
      return queued !== null;
    },
    { what: 'an event to be accepted again', timeoutMs: 30_000 },
  );
  await eventually(async () => (await succeeded()) > ranBefore, {
    what: 'the event to run',
    timeoutMs: 30_000,
  });
});

test('a control-plane process that dies is reported at once, and dev.json says it exited', async () => {
  const pid = pidOf(readState(), 'kube-controller-manager')!;
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await eventually(
    () => output.some((line) => line.startsWith('! kube-controller-manager exited')),
    {
      what: 'roost dev to report the dead kube-controller-manager',
      timeoutMs: 5000,
      intervalMs: 20,
    },
  );
  expect(Date.now() - killedAt).toBeLessThan(2000);
  const now = await eventually(() => {
    const read = readState();
    return read.components.find((c) => c.name === 'kube-controller-manager')?.exited
      ? read
      : undefined;
  });
  expect(now.components.find((c) => c.name === 'kube-controller-manager')).toMatchObject({
    exited: 'code null, signal SIGKILL',
  });
  expect(pidOf(now, 'kube-controller-manager')).toBeUndefined();
  state = now;
});

test('SIGTERM stops everything and leaves no process behind', async () => {
  const pids = state.components.map((c) => c.pid);
  dev.kill('SIGTERM');
  const exit = await dev.exited;
  expect(exit.code).toBe(0);
  expect(output.join('\n')).toContain('roost dev stopped');
  for (const pid of pids) expect(alive(pid)).toBe(false);
  await eventually(() => processesMentioning(dir).length === 0, {
    what: 'no process mentioning the dev directory',
    timeoutMs: 10_000,
  }).catch(() => undefined);
  expect(processesMentioning(dir)).toEqual([]);
  expect(existsSync(join(dir, '.roost', 'dev.json'))).toBe(false);
});
