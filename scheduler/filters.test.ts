import { describe, expect, test } from 'vitest';
import { filterHosts, firstFailure, unschedulableMessage, type FilterFailure } from './filters.ts';
import { emptyUsage, type Host, type HostUsage, type SandboxRequest } from './types.ts';

const host = (overrides: Partial<Host> = {}): Host => ({
  name: 'h1',
  namespace: 'pool',
  runtimes: ['nodejs', 'java'],
  capacity: { memoryMiB: 1024, cpuMillis: 2000, maxSandboxes: 10 },
  allowedNamespaces: ['pool'],
  ...overrides,
});

const usage = (overrides: Partial<HostUsage> = {}): HostUsage => ({
  ...emptyUsage(),
  ...overrides,
});

const request = (overrides: Partial<SandboxRequest> = {}): SandboxRequest => ({
  key: 'pool/s',
  namespace: 'pool',
  runtime: 'nodejs',
  memoryMiB: 256,
  cpuMillis: 100,
  ...overrides,
});

describe('firstFailure', () => {
  test.each<{
    name: string;
    host: Host;
    usage: HostUsage;
    request: SandboxRequest;
    want: FilterFailure | undefined;
  }>([
    {
      name: 'a ready host with room fits',
      host: host(),
      usage: usage(),
      request: request(),
      want: undefined,
    },
    {
      name: 'a host whose Lease is stale does not',
      host: host({ unready: 'Lease stale' }),
      usage: usage(),
      request: request(),
      want: { kind: 'unready', why: 'Lease stale' },
    },
    {
      name: 'a host being deleted does not, even with room',
      host: host({ unready: 'being deleted' }),
      usage: usage(),
      request: request(),
      want: { kind: 'unready', why: 'being deleted' },
    },
    {
      name: 'a Sandbox from another namespace is refused by default',
      host: host(),
      usage: usage(),
      request: request({ namespace: 'team-b' }),
      want: { kind: 'namespace', namespace: 'team-b' },
    },
    {
      name: 'a Sandbox asking for strong isolation is refused by a weak host',
      host: host({ isolation: 'weak' }),
      usage: usage(),
      request: request({ strongIsolation: true }),
      want: { kind: 'isolation', offered: 'weak' },
    },
    {
      name: 'and by a host that has not said yet',
      host: host(),
      usage: usage(),
      request: request({ strongIsolation: true }),
      want: { kind: 'isolation', offered: 'unknown' },
    },
    {
      name: 'and taken by a strong one',
      host: host({ isolation: 'strong' }),
      usage: usage(),
      request: request({ strongIsolation: true }),
      want: undefined,
    },
    {
      name: 'a Sandbox that does not ask runs on a weak host',
      host: host({ isolation: 'weak' }),
      usage: usage(),
      request: request(),
      want: undefined,
    },
    {
      name: 'a listed namespace is taken',
      host: host({ allowedNamespaces: ['pool', 'team-b'] }),
      usage: usage(),
      request: request({ namespace: 'team-b' }),
      want: undefined,
    },
    {
      name: '"*" takes every namespace',
      host: host({ allowedNamespaces: '*' }),
      usage: usage(),
      request: request({ namespace: 'anyone' }),
      want: undefined,
    },
    {
      name: 'a runtime the host does not offer',
      host: host({ runtimes: ['nodejs'] }),
      usage: usage(),
      request: request({ runtime: 'java' }),
      want: { kind: 'runtime', runtime: 'java' },
    },
    {
      name: 'the per-pod cap counts Sandboxes whatever their size',
      host: host(),
      usage: usage({ sandboxes: 10, memoryMiB: 10 }),
      request: request({ memoryMiB: 16 }),
      want: { kind: 'count', max: 10 },
    },
    {
      name: 'memory that fits exactly fits',
      host: host(),
      usage: usage({ memoryMiB: 768 }),
      request: request({ memoryMiB: 256 }),
      want: undefined,
    },
    {
      name: 'one MiB too many does not',
      host: host(),
      usage: usage({ memoryMiB: 769 }),
      request: request({ memoryMiB: 256 }),
      want: { kind: 'memory', needMiB: 256, freeMiB: 255 },
    },
    {
      name: 'cpu is checked after memory',
      host: host(),
      usage: usage({ cpuMillis: 1950 }),
      request: request({ cpuMillis: 100 }),
      want: { kind: 'cpu', needMillis: 100, freeMillis: 50 },
    },
    {
      name: 'an over-committed host reports no negative free space',
      host: host(),
      usage: usage({ memoryMiB: 2000 }),
      request: request(),
      want: { kind: 'memory', needMiB: 256, freeMiB: 0 },
    },
  ])('$name', ({ host, usage, request, want }) => {
    expect(firstFailure(host, usage, request)).toEqual(want);
  });
});

describe('unschedulableMessage', () => {
  test.each<{ name: string; total: number; failures: FilterFailure[]; want: string }>([
    {
      name: 'the example from the issue',
      total: 3,
      failures: [
        { kind: 'memory', needMiB: 256, freeMiB: 64 },
        { kind: 'runtime', runtime: 'java' },
        { kind: 'memory', needMiB: 256, freeMiB: 128 },
      ],
      want: '0/3 host pods fit: 2 insufficient memory (need 256 MiB, most free 128 MiB), 1 does not offer runtime java',
    },
    {
      name: 'weak hosts, for a Sandbox that asks for strong isolation',
      total: 2,
      failures: [
        { kind: 'isolation', offered: 'weak' },
        { kind: 'isolation', offered: 'weak' },
      ],
      want: "0/2 host pods fit: 2 offer no strong isolation (roost.dev/isolation is not strong: functions share the sidecar's user or lack limits) and the Sandbox asks for isolation: Strong",
    },
    {
      name: 'no host pods at all',
      total: 0,
      failures: [],
      want: '0/0 host pods fit: no host pods (label roost.dev/host=true) exist',
    },
    {
      name: 'unready hosts are grouped by why',
      total: 3,
      failures: [
        { kind: 'unready', why: 'Lease stale' },
        { kind: 'unready', why: 'Lease stale' },
        { kind: 'unready', why: 'not running' },
      ],
      want: '0/3 host pods fit: 2 not ready (Lease stale), 1 not ready (not running)',
    },
    {
      name: 'plural and singular read right',
      total: 3,
      failures: [
        { kind: 'namespace', namespace: 'b' },
        { kind: 'namespace', namespace: 'b' },
        { kind: 'count', max: 8 },
      ],
      want: '0/3 host pods fit: 2 do not take Sandboxes from namespace b, 1 at its cap of 8 Sandboxes',
    },
    {
      name: 'groups of one size read in the order the filters run',
      total: 2,
      failures: [
        { kind: 'memory', needMiB: 256, freeMiB: 0 },
        { kind: 'count', max: 3 },
      ],
      want: '0/2 host pods fit: 1 at its cap of 3 Sandboxes, 1 insufficient memory (need 256 MiB, most free 0 MiB)',
    },
    {
      name: 'cpu shortfall in millicores',
      total: 1,
      failures: [{ kind: 'cpu', needMillis: 500, freeMillis: 200 }],
      want: '0/1 host pods fit: 1 insufficient cpu (need 500m, most free 200m)',
    },
  ])('$name', ({ total, failures, want }) => {
    expect(unschedulableMessage(total, failures)).toBe(want);
  });
});

test('filterHosts splits the feasible from the failures', () => {
  const hosts = [host({ name: 'a' }), host({ name: 'b', runtimes: [] }), host({ name: 'c' })];
  const usages: Record<string, HostUsage> = { c: usage({ memoryMiB: 1000 }) };
  const result = filterHosts(hosts, (h) => usages[h.name] ?? emptyUsage(), request());
  expect(result.feasible.map((h) => h.name)).toEqual(['a']);
  expect(result.failures.map((f) => f.kind)).toEqual(['runtime', 'memory']);
});
