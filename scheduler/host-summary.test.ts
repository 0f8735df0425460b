import { expect, test } from 'vitest';
import type { Lease, Pod } from '../kube/api/core.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { summarizeHosts } from './host-summary.ts';

const now = Date.parse('2025-01-01T00:00:10Z');

function hostPod(name: string, ready: boolean): Pod {
  return {
    metadata: {
      name,
      namespace: 'roost-system',
      annotations: {
        'roost.dev/capacity-memory-mib': '1024',
        'roost.dev/capacity-cpu-millis': '1000',
        'roost.dev/runtimes': 'nodejs,java',
        'roost.dev/sidecar-port': '7070',
      },
    },
    spec: { containers: [] },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'roost.dev/host-ready', status: ready ? 'True' : 'False' }],
    },
  };
}

const lease: Lease = {
  metadata: { name: 'x' },
  spec: { renewTime: '2025-01-01T00:00:05Z', leaseDurationSeconds: 10 },
};

function sandbox(name: string, podName: string, memoryMiB?: number, deleting = false): Sandbox {
  return {
    metadata: {
      name,
      namespace: 'team-a',
      ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:09Z' } : {}),
    },
    spec: {
      podName,
      function: { runtime: 'nodejs', handler: 'index.handler', code: {}, memoryMiB },
    },
  };
}

test('free capacity counts the Sandboxes bound to each host pod as the scheduler does', () => {
  const [a, b] = summarizeHosts(
    [hostPod('host-b', false), hostPod('host-a', true)],
    () => lease,
    [
      sandbox('one', 'host-a', 256),
      sandbox('two', 'host-a'), // the default: 128 MiB, 100m
      sandbox('leaving', 'host-a', 512, true), // being deleted: no longer holds a place
      sandbox('three', 'host-b', 64),
    ],
    now,
  );
  expect(a).toMatchObject({
    name: 'host-a',
    ready: true,
    runtimes: ['nodejs', 'java'],
    address: '10.0.0.1:7070',
    sandboxes: ['team-a/one', 'team-a/two'],
    used: { memoryMiB: 384, cpuMillis: 200 },
    free: { memoryMiB: 640, cpuMillis: 800 },
  });
  expect(b).toMatchObject({ name: 'host-b', ready: false, reason: 'sidecar not ready' });
  expect(b!.free.memoryMiB).toBe(960);
});
