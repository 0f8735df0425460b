import { expect, test } from 'vitest';
import { SchedulerCache } from './cache.ts';
import type { Sandbox } from '../kube/api/roost.ts';

const sandbox = (
  name: string,
  podName?: string,
  extra: Partial<Sandbox['metadata']> = {},
): Sandbox => ({
  metadata: { name, namespace: 'ns', labels: { 'roost.dev/deployment': 'fn' }, ...extra },
  spec: {
    podName,
    function: {
      runtime: 'nodejs',
      handler: 'index.handler',
      code: { inline: { files: {} } },
      memoryMiB: 256,
      cpuMillis: 50,
    },
  },
});

test.each<{
  name: string;
  steps: ((c: SchedulerCache) => void)[];
  memory: number;
  sandboxes: number;
}>([
  {
    name: 'bound Sandboxes count',
    steps: [(c) => c.update(sandbox('a', 'p')), (c) => c.update(sandbox('b', 'p'))],
    memory: 512,
    sandboxes: 2,
  },
  {
    name: 'a Sandbox being deleted frees its place',
    steps: [
      (c) => c.update(sandbox('a', 'p')),
      (c) => c.update(sandbox('a', 'p', { deletionTimestamp: 'x' })),
    ],
    memory: 0,
    sandboxes: 0,
  },
  {
    name: 'an assumed Sandbox counts before the informer shows it bound',
    steps: [
      (c) =>
        c.assume(
          { key: 'ns/a', namespace: 'ns', runtime: 'nodejs', memoryMiB: 256, cpuMillis: 50 },
          'p',
        ),
    ],
    memory: 256,
    sandboxes: 1,
  },
  {
    name: 'a stale unbound event does not drop an assumption',
    steps: [
      (c) =>
        c.assume(
          { key: 'ns/a', namespace: 'ns', runtime: 'nodejs', memoryMiB: 256, cpuMillis: 50 },
          'p',
        ),
      (c) => c.update(sandbox('a')),
    ],
    memory: 256,
    sandboxes: 1,
  },
  {
    name: 'the informer confirming an assumption counts it once',
    steps: [
      (c) =>
        c.assume(
          { key: 'ns/a', namespace: 'ns', runtime: 'nodejs', memoryMiB: 256, cpuMillis: 50 },
          'p',
        ),
      (c) => c.update(sandbox('a', 'p')),
    ],
    memory: 256,
    sandboxes: 1,
  },
  {
    name: 'a failed bind gives the room back',
    steps: [
      (c) =>
        c.assume(
          { key: 'ns/a', namespace: 'ns', runtime: 'nodejs', memoryMiB: 256, cpuMillis: 50 },
          'p',
        ),
      (c) => c.forget('ns/a'),
    ],
    memory: 0,
    sandboxes: 0,
  },
  {
    name: 'forget does not drop a placement the informer confirmed',
    steps: [(c) => c.update(sandbox('a', 'p')), (c) => c.forget('ns/a')],
    memory: 256,
    sandboxes: 1,
  },
  {
    name: 'a deleted Sandbox leaves',
    steps: [(c) => c.update(sandbox('a', 'p')), (c) => c.delete(sandbox('a', 'p'))],
    memory: 0,
    sandboxes: 0,
  },
])('$name', ({ steps, memory, sandboxes }) => {
  const cache = new SchedulerCache();
  for (const step of steps) step(cache);
  expect(cache.usage('p').memoryMiB).toBe(memory);
  expect(cache.usage('p').sandboxes).toBe(sandboxes);
});

test('replicas are counted per deployment', () => {
  const cache = new SchedulerCache();
  cache.update(sandbox('a', 'p'));
  cache.update(sandbox('b', 'p'));
  expect(cache.usage('p').deployments.get('ns/fn')).toBe(2);
});
