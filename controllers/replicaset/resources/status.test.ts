import { expect, test } from 'vitest';
import type { Sandbox, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { computeStatus } from './status.ts';

const NOW = Date.parse('2026-01-01T00:01:00Z');

const replicaSet = (minReadySeconds = 0): SandboxReplicaSet => ({
  metadata: { name: 'rs', namespace: 'ns', generation: 4 },
  spec: {
    replicas: 3,
    minReadySeconds,
    selector: { matchLabels: { app: 'fn', 'roost.dev/template-hash': 'h' } },
    template: {
      metadata: { labels: { app: 'fn', 'roost.dev/template-hash': 'h', tier: 'x' } },
      spec: { function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } } },
    },
  },
});

const sandbox = (
  readySecondsAgo: number | undefined,
  phase = 'Running',
  labels = { app: 'fn', 'roost.dev/template-hash': 'h', tier: 'x' },
): Sandbox => ({
  metadata: { name: 's', labels },
  spec: {
    podName: 'p',
    function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } },
  },
  status: {
    phase: phase as 'Running',
    conditions:
      readySecondsAgo === undefined
        ? []
        : [
            {
              type: 'Ready',
              status: 'True',
              reason: '',
              message: '',
              lastTransitionTime: new Date(NOW - readySecondsAgo * 1000).toISOString(),
            },
          ],
  },
});

test.each<{
  name: string;
  minReady: number;
  sandboxes: Sandbox[];
  want: Record<string, number>;
  requeue?: number;
}>([
  {
    name: 'ready ones are available at once without minReadySeconds',
    minReady: 0,
    sandboxes: [sandbox(1), sandbox(1), sandbox(undefined, 'Starting')],
    want: { replicas: 3, readyReplicas: 2, availableReplicas: 2, fullyLabeledReplicas: 3 },
  },
  {
    name: 'a Failed Sandbox still counts as a replica, not as ready',
    minReady: 0,
    sandboxes: [sandbox(1), sandbox(undefined, 'Failed')],
    want: { replicas: 2, readyReplicas: 1, availableReplicas: 1, fullyLabeledReplicas: 2 },
  },
  {
    name: 'minReadySeconds holds back availability and asks to look again when it passes',
    minReady: 10,
    sandboxes: [sandbox(20), sandbox(4)],
    want: { replicas: 2, readyReplicas: 2, availableReplicas: 1, fullyLabeledReplicas: 2 },
    requeue: 6050,
  },
  {
    name: 'a Sandbox missing a template label is not fully labelled',
    minReady: 0,
    sandboxes: [sandbox(1, 'Running', { app: 'fn', 'roost.dev/template-hash': 'h' } as never)],
    want: { replicas: 1, readyReplicas: 1, availableReplicas: 1, fullyLabeledReplicas: 0 },
  },
])('$name', ({ minReady, sandboxes, want, requeue }) => {
  const { status, requeueAfterMs } = computeStatus({
    replicaSet: replicaSet(minReady),
    active: sandboxes,
    now: NOW,
  });
  expect(status).toMatchObject({
    ...want,
    observedGeneration: 4,
    selector: 'app=fn,roost.dev/template-hash=h',
  });
  expect(requeueAfterMs).toBe(requeue);
});

test('a failure to create shows as ReplicaFailure, and goes when things work again', () => {
  const failed = computeStatus({
    replicaSet: replicaSet(),
    active: [],
    now: NOW,
    failure: { reason: 'FailedCreate', message: 'quota exceeded' },
  });
  expect(failed.status.conditions).toEqual([
    {
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FailedCreate',
      message: 'quota exceeded',
      lastTransitionTime: '2026-01-01T00:01:00Z',
    },
  ]);
  const rs = { ...replicaSet(), status: failed.status };
  expect(computeStatus({ replicaSet: rs, active: [], now: NOW }).status.conditions).toEqual([]);
});

/** Sandbox fn-h-abcde, Failed with FunctionLoadFailed and this message, as a sidecar leaves it. */
const failedSandbox = (message: string): Sandbox => ({
  ...sandbox(undefined, 'Failed'),
  metadata: { name: 'fn-h-abcde' },
  status: { phase: 'Failed', reason: 'FunctionLoadFailed', message, conditions: [] },
});

test('a failed Sandbox shows as ReplicaFailure with its reason and message, and goes once it is replaced', () => {
  const broken = failedSandbox('SyntaxError: Unexpected token');
  const failed = computeStatus({
    replicaSet: replicaSet(),
    active: [sandbox(1), broken],
    now: NOW,
  });
  expect(failed.status.conditions).toEqual([
    {
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FunctionLoadFailed',
      message: '1 of 2 Sandboxes failed; fn-h-abcde: SyntaxError: Unexpected token',
      lastTransitionTime: '2026-01-01T00:01:00Z',
    },
  ]);
  const rs = { ...replicaSet(), status: failed.status };
  const healed = computeStatus({ replicaSet: rs, active: [sandbox(1), sandbox(1)], now: NOW });
  expect(healed.status.conditions).toEqual([]);
});

test("a Sandbox's message that names it already is not prefixed with its name again", () => {
  const named = failedSandbox('Sandbox ns/fn-h-abcde: HandlerNotFound: no handler');
  const { status } = computeStatus({ replicaSet: replicaSet(), active: [named], now: NOW });
  expect(status.conditions?.[0]?.message).toBe(
    '1 of 1 Sandboxes failed; Sandbox ns/fn-h-abcde: HandlerNotFound: no handler',
  );
});

test('a Sandbox failed because its host was lost is no ReplicaFailure: it is being replaced, and the gateway holds requests meanwhile', () => {
  const lost: Sandbox = {
    ...failedSandbox('host pod ns/h has stopped (phase Failed)'),
    status: { phase: 'Failed', reason: 'HostLost', message: 'host pod ns/h has stopped' },
  };
  const { status } = computeStatus({ replicaSet: replicaSet(), active: [lost], now: NOW });
  expect(status.conditions).toEqual([]);
  expect(status.replicas).toBe(1);
});
