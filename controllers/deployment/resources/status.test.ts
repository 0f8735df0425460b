import { expect, test } from 'vitest';
import type { SandboxDeployment, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { computeDeploymentStatus } from './status.ts';

const NOW = Date.parse('2026-01-01T01:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

const deployment = (
  status: SandboxDeployment['status'] = {},
  extra: Partial<SandboxDeployment['spec']> = {},
): SandboxDeployment => ({
  metadata: { name: 'hello', namespace: 'ns', generation: 7 },
  spec: {
    replicas: 3,
    progressDeadlineSeconds: 60,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      spec: { function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } } },
    },
    ...extra,
  },
  status,
});

const rs = (
  name: string,
  revision: number,
  replicas: number,
  ready: number,
  available = ready,
): SandboxReplicaSet => ({
  metadata: { name, annotations: { 'roost.dev/revision': String(revision) } },
  spec: { replicas, selector: { matchLabels: { a: 'b' } }, template: deployment().spec.template },
  status: { replicas, readyReplicas: ready, availableReplicas: available },
});

const progressing = (reason: string, status = 'True', secondsAgo = 0) => ({
  type: 'Progressing',
  status: status as 'True',
  reason,
  message: '',
  lastTransitionTime: ago(secondsAgo),
});

test.each<{
  name: string;
  d: SandboxDeployment;
  newRS: SandboxReplicaSet;
  old: SandboxReplicaSet[];
  acted?: boolean;
  want: { ready: string; available: string; progressing: [string, string]; transition?: string };
}>([
  {
    name: 'a finished rollout is complete and available',
    d: deployment({ conditions: [progressing('ReplicaSetUpdated', 'True', 5)] }),
    newRS: rs('hello-new', 2, 3, 3),
    old: [rs('hello-old', 1, 0, 0)],
    want: {
      ready: '3/3',
      available: 'True',
      progressing: ['True', 'NewReplicaSetAvailable'],
      transition: 'RolloutComplete',
    },
  },
  {
    name: 'during a rollout with maxUnavailable 0, still available; progressing',
    d: deployment(),
    newRS: rs('hello-new', 2, 1, 0),
    old: [rs('hello-old', 1, 3, 3)],
    acted: true,
    want: { ready: '3/3', available: 'True', progressing: ['True', 'ReplicaSetUpdated'] },
  },
  {
    name: 'no progress for longer than the deadline: ProgressDeadlineExceeded',
    d: deployment({
      replicas: 4,
      updatedReplicas: 1,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [progressing('ReplicaSetUpdated', 'True', 61)],
    }),
    newRS: rs('hello-new', 2, 1, 0),
    old: [rs('hello-old', 1, 3, 3)],
    want: {
      ready: '3/3',
      available: 'True',
      progressing: ['False', 'ProgressDeadlineExceeded'],
      transition: 'ProgressDeadlineExceeded',
    },
  },
  {
    name: 'within the deadline it waits',
    d: deployment({
      replicas: 4,
      updatedReplicas: 1,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [progressing('ReplicaSetUpdated', 'True', 30)],
    }),
    newRS: rs('hello-new', 2, 1, 0),
    old: [rs('hello-old', 1, 3, 3)],
    want: { ready: '3/3', available: 'True', progressing: ['True', 'ReplicaSetUpdated'] },
  },
  {
    name: 'too few available: Available False',
    d: deployment(),
    newRS: rs('hello-new', 1, 3, 1),
    old: [],
    want: { ready: '1/3', available: 'False', progressing: ['True', 'ReplicaSetUpdated'] },
  },
  {
    name: 'paused says so',
    d: deployment({}, { paused: true }),
    newRS: rs('hello-new', 1, 3, 3),
    old: [],
    want: { ready: '3/3', available: 'True', progressing: ['Unknown', 'DeploymentPaused'] },
  },
])('$name', ({ d, newRS, old, acted, want }) => {
  const { status, transition } = computeDeploymentStatus({
    deployment: d,
    newRS,
    all: [newRS, ...old],
    acted: acted ?? false,
    now: NOW,
  });
  expect(status.ready).toBe(want.ready);
  expect(status.revision).toBe(Number(newRS.metadata.annotations!['roost.dev/revision']));
  expect(status.observedGeneration).toBe(7);
  expect(status.selector).toBe('roost.dev/deployment=hello');
  const available = status.conditions!.find((c) => c.type === 'Available')!;
  const prog = status.conditions!.find((c) => c.type === 'Progressing')!;
  expect(available.status).toBe(want.available);
  expect([prog.status, prog.reason]).toEqual(want.progressing);
  expect(transition).toBe(want.transition);
});

test('counts add up over every revision; updated counts only the new one', () => {
  const newRS = rs('hello-new', 2, 2, 1);
  const { status } = computeDeploymentStatus({
    deployment: deployment(),
    newRS,
    all: [newRS, rs('hello-old', 1, 2, 2)],
    acted: false,
    now: NOW,
  });
  expect(status).toMatchObject({
    replicas: 4,
    updatedReplicas: 2,
    readyReplicas: 3,
    availableReplicas: 3,
    unavailableReplicas: 0,
  });
});

test("the new ReplicaSet's ReplicaFailure is passed on, an old one's is not", () => {
  const failure = {
    type: 'ReplicaFailure',
    status: 'True' as const,
    reason: 'FunctionLoadFailed',
    message: '1 of 1 Sandboxes failed; hello-b-x: SyntaxError',
    lastTransitionTime: ago(5),
  };
  const broken = (name: string, revision: number) => {
    const replicaSet = rs(name, revision, 1, 0);
    replicaSet.status!.conditions = [failure];
    return replicaSet;
  };
  const failing = computeDeploymentStatus({
    deployment: deployment(),
    newRS: broken('hello-b', 2),
    all: [broken('hello-b', 2)],
    acted: false,
    now: NOW,
  });
  expect(failing.status.conditions?.find((c) => c.type === 'ReplicaFailure')).toEqual(failure);

  const fixed = computeDeploymentStatus({
    deployment: deployment(failing.status),
    newRS: rs('hello-c', 3, 1, 0),
    all: [broken('hello-b', 2), rs('hello-c', 3, 1, 0)],
    acted: true,
    now: NOW,
  });
  expect(fixed.status.conditions?.map((c) => c.type)).not.toContain('ReplicaFailure');
});
