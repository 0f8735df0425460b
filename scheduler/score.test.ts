import { describe, expect, test } from 'vitest';
import { mostAllocated, pickHost, spreadOnly, spreadThenPack, type ScoreContext } from './score.ts';
import { emptyUsage, type Host, type HostUsage, type SandboxRequest } from './types.ts';

const host = (name: string, nodeName?: string, memoryMiB = 1000): Host => ({
  name,
  namespace: 'pool',
  nodeName,
  runtimes: ['nodejs'],
  capacity: { memoryMiB, cpuMillis: Infinity, maxSandboxes: Infinity },
  allowedNamespaces: '*',
});

const request = (memoryMiB = 100, deployment?: string): SandboxRequest => ({
  key: 'ns/s',
  namespace: 'ns',
  runtime: 'nodejs',
  memoryMiB,
  cpuMillis: 100,
  deployment,
});

function context(hosts: Host[], usages: Record<string, Partial<HostUsage>>): ScoreContext {
  const usageOf = (h: Host): HostUsage => ({ ...emptyUsage(), ...usages[h.name] });
  return {
    usageOf,
    replicasOnNode: (deployment, node) =>
      hosts
        .filter((h) => h.nodeName === node)
        .reduce((n, h) => n + (usageOf(h).deployments.get(deployment) ?? 0), 0),
  };
}

describe('mostAllocated', () => {
  test.each([
    { used: 0, need: 100, capacity: 1000, want: 10 },
    { used: 900, need: 100, capacity: 1000, want: 100 },
    { used: 500, need: 250, capacity: 1000, want: 75 },
  ])('$used + $need of $capacity MiB scores $want', ({ used, need, capacity, want }) => {
    expect(
      mostAllocated(
        host('h', undefined, capacity),
        { ...emptyUsage(), memoryMiB: used },
        request(need),
      ),
    ).toBe(want);
  });
});

const d = 'ns/fn';
const withReplicas = (n: number, memoryMiB = 0): Partial<HostUsage> => ({
  memoryMiB,
  deployments: new Map([[d, n]]),
});

describe('pickHost with the default scorer', () => {
  test.each<{
    name: string;
    hosts: Host[];
    usages: Record<string, Partial<HostUsage>>;
    request: SandboxRequest;
    want: string;
  }>([
    {
      name: 'bin-packing: the fullest host that fits wins',
      hosts: [host('a'), host('b'), host('c')],
      usages: { a: { memoryMiB: 300 }, b: { memoryMiB: 800 }, c: { memoryMiB: 100 } },
      request: request(100),
      want: 'b',
    },
    {
      name: 'ties go to the first by name',
      hosts: [host('c'), host('a'), host('b')],
      usages: {},
      request: request(100),
      want: 'a',
    },
    {
      name: 'a replica avoids a pod that already runs one of its deployment, even a fuller one',
      hosts: [host('a'), host('b')],
      usages: { a: withReplicas(1, 800), b: { memoryMiB: 100 } },
      request: request(100, d),
      want: 'b',
    },
    {
      name: 'a replica avoids a node that already runs one when another node has room',
      hosts: [host('a', 'n1'), host('b', 'n1'), host('c', 'n2')],
      usages: { a: withReplicas(1), b: { memoryMiB: 900 } },
      request: request(100, d),
      want: 'c',
    },
    {
      name: 'when every pod has a replica, the one with fewest wins, then packing',
      hosts: [host('a'), host('b'), host('c')],
      usages: { a: withReplicas(2, 900), b: withReplicas(1, 200), c: withReplicas(1, 500) },
      request: request(100, d),
      want: 'c',
    },
    {
      name: 'other deployments do not repel',
      hosts: [host('a'), host('b')],
      usages: { a: { memoryMiB: 800, deployments: new Map([['ns/other', 3]]) } },
      request: request(100, d),
      want: 'a',
    },
  ])('$name', ({ hosts, usages, request, want }) => {
    expect(pickHost(hosts, context(hosts, usages), request, spreadThenPack)?.name).toBe(want);
  });
});

test('the spread-only baseline picks the emptiest host', () => {
  const hosts = [host('a'), host('b')];
  expect(
    pickHost(hosts, context(hosts, { a: { memoryMiB: 800 } }), request(), spreadOnly)?.name,
  ).toBe('b');
});

test('nothing feasible, nothing picked', () => {
  expect(pickHost([], context([], {}), request())).toBeUndefined();
});
