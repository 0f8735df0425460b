import { describe, expect, test } from 'vitest';
import type { SandboxDeployment, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import {
  planRecreate,
  planRollingUpdate,
  resolveFenceposts,
  scaledValue,
  type ScaleAction,
} from './rollout.ts';

describe('scaledValue and resolveFenceposts round as Kubernetes does', () => {
  test.each([
    { value: 2, total: 10, up: true, want: 2 },
    { value: '25%', total: 10, up: true, want: 3 },
    { value: '25%', total: 10, up: false, want: 2 },
    { value: '25%', total: 3, up: true, want: 1 },
    { value: '25%', total: 3, up: false, want: 0 },
    { value: '100%', total: 7, up: false, want: 7 },
    { value: '0%', total: 7, up: true, want: 0 },
    { value: '3', total: 7, up: true, want: 3 },
  ])('$value of $total (round up: $up) = $want', ({ value, total, up, want }) => {
    expect(scaledValue(value, total, up)).toBe(want);
  });

  test('a bad value says what it expected', () => {
    expect(() => scaledValue('a lot', 3, true)).toThrow('a whole number or a percentage');
  });

  test.each([
    {
      surge: undefined,
      unavailable: undefined,
      replicas: 3,
      want: { maxSurge: 1, maxUnavailable: 0 },
    },
    {
      surge: undefined,
      unavailable: undefined,
      replicas: 4,
      want: { maxSurge: 1, maxUnavailable: 1 },
    },
    { surge: 1, unavailable: 0, replicas: 3, want: { maxSurge: 1, maxUnavailable: 0 } },
    // Both zero would never move: unavailable becomes 1.
    { surge: '10%', unavailable: '10%', replicas: 3, want: { maxSurge: 1, maxUnavailable: 0 } },
    { surge: 0, unavailable: '10%', replicas: 3, want: { maxSurge: 0, maxUnavailable: 1 } },
  ])(
    'surge $surge unavailable $unavailable of $replicas',
    ({ surge, unavailable, replicas, want }) => {
      expect(resolveFenceposts(surge, unavailable, replicas)).toEqual(want);
    },
  );
});

const deployment = (
  replicas: number,
  rolling: { maxSurge?: number | string; maxUnavailable?: number | string } = {},
  type: 'RollingUpdate' | 'Recreate' = 'RollingUpdate',
): SandboxDeployment => ({
  metadata: { name: 'fn', namespace: 'ns' },
  spec: {
    replicas,
    strategy: type === 'Recreate' ? { type } : { type, rollingUpdate: rolling },
    template: {
      spec: { function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } } },
    },
  },
});

/** name:spec/available, created in the order given. */
const rs = (text: string, index: number): SandboxReplicaSet => {
  const [name, counts] = text.split(':') as [string, string];
  const [spec, available] = counts.split('/').map(Number) as [number, number];
  return {
    metadata: { name, creationTimestamp: `2026-01-01T00:00:0${index}Z` },
    spec: {
      replicas: spec,
      selector: { matchLabels: { a: 'b' } },
      template: deployment(1).spec.template,
    },
    status: { replicas: spec, availableReplicas: available },
  };
};

describe('planRollingUpdate', () => {
  test.each<{
    name: string;
    d: SandboxDeployment;
    newRS: string;
    old: string[];
    want: ScaleAction[];
  }>([
    {
      name: 'maxUnavailable 0: the first step surges one new replica',
      d: deployment(3, { maxSurge: 1, maxUnavailable: 0 }),
      newRS: 'new:0/0',
      old: ['old:3/3'],
      want: [{ name: 'new', from: 0, to: 1 }],
    },
    {
      name: 'maxUnavailable 0: nothing old goes until the new replica is available',
      d: deployment(3, { maxSurge: 1, maxUnavailable: 0 }),
      newRS: 'new:1/0',
      old: ['old:3/3'],
      want: [],
    },
    {
      name: 'maxUnavailable 0: then one old replica goes',
      d: deployment(3, { maxSurge: 1, maxUnavailable: 0 }),
      newRS: 'new:1/1',
      old: ['old:3/3'],
      want: [{ name: 'old', from: 3, to: 2 }],
    },
    {
      name: 'a stale available count on the old set cannot take more than the spec allows',
      d: deployment(3, { maxSurge: 1, maxUnavailable: 0 }),
      newRS: 'new:1/1',
      old: ['old:2/3'],
      want: [{ name: 'new', from: 1, to: 2 }],
    },
    {
      name: 'maxUnavailable 1 lets one old replica go at once',
      d: deployment(4, { maxSurge: 0, maxUnavailable: 1 }),
      newRS: 'new:0/0',
      old: ['old:4/4'],
      want: [{ name: 'old', from: 4, to: 3 }],
    },
    {
      name: 'an unavailable old replica goes first, within the surge budget',
      d: deployment(3, { maxSurge: 1, maxUnavailable: 0 }),
      newRS: 'new:1/1',
      old: ['old:3/1'],
      want: [{ name: 'old', from: 3, to: 2 }],
    },
    {
      name: 'unavailable old replicas go even when none may become unavailable',
      d: deployment(3, { maxSurge: 2, maxUnavailable: 0 }),
      newRS: 'new:2/2',
      old: ['old:3/1'],
      want: [{ name: 'old', from: 3, to: 1 }],
    },
    {
      name: 'the oldest of several old sets scales down first',
      d: deployment(3, { maxSurge: 1, maxUnavailable: 1 }),
      newRS: 'new:1/1',
      old: ['older:1/1', 'old:2/2'],
      want: [
        { name: 'older', from: 1, to: 0 },
        { name: 'old', from: 2, to: 1 },
      ],
    },
    {
      name: 'scaling up without a rollout goes straight to replicas within the surge',
      d: deployment(5),
      newRS: 'new:3/3',
      old: [],
      want: [{ name: 'new', from: 3, to: 5 }],
    },
    {
      name: 'scaling down goes straight to replicas',
      d: deployment(0),
      newRS: 'new:5/5',
      old: [],
      want: [{ name: 'new', from: 5, to: 0 }],
    },
    {
      name: 'nothing to do when done',
      d: deployment(3),
      newRS: 'new:3/3',
      old: ['old:0/0'],
      want: [],
    },
  ])('$name', ({ d, newRS, old, want }) => {
    expect(planRollingUpdate(d, rs(newRS, 9), old.map(rs))).toEqual(want);
  });
});

describe('planRecreate', () => {
  test.each<{ name: string; newRS: string; old: string[]; left: number; want: ScaleAction[] }>([
    {
      name: 'old sets go to zero first',
      newRS: 'new:0/0',
      old: ['old:3/3'],
      left: 3,
      want: [{ name: 'old', from: 3, to: 0 }],
    },
    {
      name: 'then it waits for their Sandboxes to be gone',
      newRS: 'new:0/0',
      old: ['old:0/0'],
      left: 1,
      want: [],
    },
    {
      name: 'then the new set scales up',
      newRS: 'new:0/0',
      old: ['old:0/0'],
      left: 0,
      want: [{ name: 'new', from: 0, to: 3 }],
    },
  ])('$name', ({ newRS, old, left, want }) => {
    expect(planRecreate(deployment(3, {}, 'Recreate'), rs(newRS, 9), old.map(rs), left)).toEqual(
      want,
    );
  });
});
