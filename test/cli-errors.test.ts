// What a user sees when `roost` cannot do what was asked, without any Roost
// running: no cluster at the kubeconfig's address, no kubeconfig at all, no
// gateway, a wrong command line. Each says what to do, with its exit code
// (0 ok, 1 failure, 2 usage, 3 not found, 4 cannot reach).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../lib/ports.ts';
import { roost } from './support/roost-cli.ts';

const HELLO = join(import.meta.dirname, '..', 'examples', 'hello');

let dir: string;
let closedPort: number;
let kubeconfig: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-cli-errors-'));
  // A port nothing listens on: connections to it are refused at once.
  closedPort = await freePort();
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
  - name: gone
    cluster:
      server: https://127.0.0.1:${closedPort}
      insecure-skip-tls-verify: true
users:
  - name: someone
    user:
      token: abc
contexts:
  - name: gone
    context: { cluster: gone, user: someone }
current-context: gone
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('no cluster at the kubeconfig address', () => {
  test.each([
    ['deploy', ['deploy', HELLO, '--name', 'hello', '--no-wait']],
    ['logs', ['logs', 'hello']],
    ['stats', ['stats', 'hello']],
    ['get deployments', ['get', 'deployments']],
    ['get sandboxes', ['get', 'sbx']],
    ['get hosts', ['get', 'hosts']],
    ['rollout history', ['rollout', 'history', 'hello']],
    ['rollout undo', ['rollout', 'undo', 'hello']],
  ])('roost %s says it cannot reach the API server and exits 4', async (_, args) => {
    const result = await roost([...args, '--kubeconfig', kubeconfig]);
    expect(result.stderr).toContain(
      `roost: Cannot reach the Kubernetes API server at https://127.0.0.1:${closedPort}`,
    );
    expect(result.stderr).toContain('Start a local one with `roost dev`, or pass --kubeconfig');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(4);
  });
});

test('without any kubeconfig, a verb says where it looked and exits 4', async () => {
  const home = join(dir, 'empty-home');
  mkdirSync(home);
  const result = await roost(['get', 'deployments'], { cwd: home, env: { HOME: home } });
  expect(result.stderr).toContain(
    'Cannot find a kubeconfig: pass --kubeconfig, set KUBECONFIG, or start a local cluster with `roost dev` in this directory',
  );
  expect(result.code).toBe(4);
});

test('roost invoke with no gateway at the address from .roost/dev.json says so and exits 4', async () => {
  const project = join(dir, 'project');
  mkdirSync(join(project, '.roost'), { recursive: true });
  writeFileSync(
    join(project, '.roost', 'dev.json'),
    JSON.stringify({ gateway: { url: `http://127.0.0.1:${closedPort}` }, token: 't' }),
  );
  const result = await roost(['invoke', 'hello', '-n', 'default'], { cwd: project });
  expect(result.stderr).toContain(`Cannot reach the gateway at http://127.0.0.1:${closedPort}`);
  expect(result.stderr).toContain('pass --gateway (or set ROOST_GATEWAY)');
  expect(result.code).toBe(4);
});

describe('the command line', () => {
  test('--help lists the verbs and exits 0', async () => {
    const result = await roost(['--help']);
    for (const verb of ['init', 'deploy', 'invoke', 'logs', 'stats', 'get', 'rollout'])
      expect(result.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    expect(result.code).toBe(0);
  });

  test.each([
    {
      what: 'every verb has --help',
      args: ['deploy', '--help'],
      code: 0,
      says: /Usage: roost deploy \[options\] <path>/,
    },
    {
      what: 'a missing argument',
      args: ['invoke'],
      code: 2,
      says: /missing required argument 'name'/,
    },
    {
      what: 'an option without its value',
      args: ['deploy', HELLO, '--memory'],
      code: 2,
      says: /option '--memory <MiB>' argument missing/,
    },
    {
      what: 'an unknown verb',
      args: ['frobnicate'],
      code: 2,
      says: /unknown command 'frobnicate'/,
    },
    {
      what: 'an unknown output format',
      args: ['get', 'deployments', '-o', 'xml'],
      code: 2,
      says: /Allowed choices are table, wide, json, yaml/,
    },
    {
      what: 'a bad number',
      args: ['deploy', HELLO, '--name', 'x', '--memory', 'lots'],
      code: 2,
      says: /--memory must be a whole number/,
    },
    {
      what: 'a bad name',
      args: ['deploy', HELLO, '--name', 'Hello_World'],
      code: 2,
      says: /Cannot use --name "Hello_World"/,
    },
    {
      what: 'a bad duration',
      args: ['logs', 'x', '--since', 'soon'],
      code: 2,
      says: /Cannot read --since "soon"/,
    },
    {
      what: 'a host grace no longer than the host Lease renewal',
      args: ['controller', '--host-grace', '5s'],
      code: 2,
      says: /--host-grace 5s is too short: sidecars renew their host Leases every 10s \(--host-lease-renew\)/,
    },
    {
      what: 'a host grace no longer than a given renewal',
      args: ['controller', '--host-grace', '3s', '--host-lease-renew', '3s'],
      code: 2,
      says: /--host-grace 3s is too short: .* use more than 3s/,
    },
  ])('$what: exit $code', async ({ args, code, says }) => {
    const result = await roost(args);
    expect(result.stdout + result.stderr).toMatch(says);
    expect(result.code).toBe(code);
  });

  test('roost init refuses a directory that is not empty, and writes nothing there', async () => {
    const target = join(dir, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'mine.txt'), 'keep');
    const result = await roost(['init', target, '--runtime', 'nodejs']);
    expect(result.stderr).toContain(`Cannot create a function in ${target}: it is not empty`);
    expect(result.code).toBe(2);
    expect(readdirSync(target)).toEqual(['mine.txt']);
  });
});
