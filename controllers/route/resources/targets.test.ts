import { describe, expect, test } from 'vitest';
import type { SandboxReplicaSet, SandboxRoute } from '../../../kube/api/roost.ts';
import { REVISION_ANNOTATION } from '../../../kube/well-known.ts';
import { resolveTargets, trafficSummary } from './targets.ts';

const rs = (name: string, revision: number) =>
  ({
    metadata: { name, annotations: { [REVISION_ANNOTATION]: String(revision) } },
    spec: {},
  }) as unknown as SandboxReplicaSet;
const replicaSets = [rs('fn-a', 1), rs('fn-b', 2), rs('fn-c', 3)];
const route = (targets: SandboxRoute['spec']['targets']): SandboxRoute => ({
  metadata: { name: 'fn' },
  spec: { deployment: 'fn', targets },
});

describe('resolveTargets', () => {
  test('revision numbers and latestRevision resolve to ReplicaSets with their ready Sandboxes', () => {
    const { targets, missing, latest } = resolveTargets(
      route([
        { revision: 1, percent: 90 },
        { latestRevision: true, percent: 10, tag: 'canary' },
      ]),
      replicaSets,
      new Map([[1, 2]]),
    );
    expect(missing).toEqual([]);
    expect(targets).toEqual([
      { revision: 1, replicaSet: 'fn-a', percent: 90, readySandboxes: 2 },
      { revision: 3, replicaSet: 'fn-c', percent: 10, tag: 'canary', readySandboxes: 0 },
    ]);
    expect(latest?.revision).toBe(3);
    expect(trafficSummary(targets)).toBe('1=90,3=10(canary)');
  });

  test('a revision the deployment does not have is missing', () => {
    const { missing } = resolveTargets(
      route([{ revision: 9, percent: 100 }]),
      replicaSets,
      new Map(),
    );
    expect(missing).toEqual([9]);
  });
});
