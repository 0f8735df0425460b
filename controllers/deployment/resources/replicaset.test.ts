import { describe, expect, test } from 'vitest';
import type { SandboxDeployment, SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { makeReplicaSet, rollbackTarget } from './replicaset.ts';
import { normalizedTemplate, sameTemplate, templateHash, withoutHashLabel } from './template.ts';

const deployment = (code = 'v1', labels?: Record<string, string>): SandboxDeployment => ({
  metadata: { name: 'hello', namespace: 'ns', uid: 'd-1' },
  spec: {
    replicas: 3,
    minReadySeconds: 5,
    template: {
      ...(labels ? { metadata: { labels } } : {}),
      spec: {
        function: {
          runtime: 'nodejs',
          handler: 'index.handler',
          code: { inline: { files: { 'index.mjs': code } } },
        },
      },
    },
  },
});

describe('templateHash', () => {
  test('is stable whatever the order of keys', () => {
    const reversed = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reversed)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reversed(x)]),
            )
          : v;
    const a = normalizedTemplate(deployment());
    const b = reversed(a) as typeof a;
    expect(JSON.stringify(b)).not.toBe(JSON.stringify(a));
    expect(templateHash(b)).toBe(templateHash(a));
  });
  test.each([
    { name: 'different code', other: deployment('v2') },
    { name: 'an extra label', other: deployment('v1', { tier: 'x' }) },
  ])('changes with $name', ({ other }) => {
    expect(templateHash(normalizedTemplate(other))).not.toBe(
      templateHash(normalizedTemplate(deployment())),
    );
  });
  test('changes with the collision count', () => {
    const t = normalizedTemplate(deployment());
    expect(templateHash(t, 1)).not.toBe(templateHash(t, 0));
    expect(templateHash(t)).toMatch(/^[0-9a-f]{10}$/);
  });
});

test('a ReplicaSet carries the deployment and hash labels, the revision, and the deployment as owner', () => {
  const rs = makeReplicaSet(deployment(), { hash: 'abc', revision: 2, replicas: 1 });
  expect(rs.metadata).toMatchObject({
    name: 'hello-abc',
    namespace: 'ns',
    labels: { 'roost.dev/deployment': 'hello', 'roost.dev/template-hash': 'abc' },
    annotations: { 'roost.dev/revision': '2' },
    ownerReferences: [{ kind: 'SandboxDeployment', name: 'hello', uid: 'd-1', controller: true }],
  });
  expect(rs.spec.selector.matchLabels).toEqual({
    'roost.dev/deployment': 'hello',
    'roost.dev/template-hash': 'abc',
  });
  expect(rs.spec.template.metadata?.labels).toEqual({
    'roost.dev/deployment': 'hello',
    'roost.dev/template-hash': 'abc',
  });
  expect(rs.spec).toMatchObject({ replicas: 1, minReadySeconds: 5 });
});

test("copying a ReplicaSet's template back (a rollback) gives the same template and hash", () => {
  const d = deployment('v1', { tier: 'x' });
  const hash = templateHash(normalizedTemplate(d));
  const rs = makeReplicaSet(d, { hash, revision: 1, replicas: 3 });
  const rolledBack = {
    ...deployment('v2'),
    spec: { ...deployment('v2').spec, template: withoutHashLabel(rs.spec.template) },
  };
  expect(sameTemplate(rs.spec.template, normalizedTemplate(rolledBack))).toBe(true);
  expect(templateHash(normalizedTemplate(rolledBack))).toBe(hash);
});

const withRevision = (name: string, revision: number): SandboxReplicaSet => ({
  ...makeReplicaSet(deployment(name), { hash: name, revision, replicas: 0 }),
});

test.each([
  { to: 0, want: 'hello-b', why: '0 means the revision before the current one' },
  { to: 1, want: 'hello-a', why: 'a number means that revision' },
  { to: 3, want: 'hello-c', why: 'even the current one' },
  { to: 9, want: undefined, why: 'a revision that does not exist finds nothing' },
])('rollback to $to: $why', ({ to, want }) => {
  const sets = [withRevision('a', 1), withRevision('c', 3), withRevision('b', 2)];
  expect(rollbackTarget(sets, to)?.metadata.name).toBe(want);
});
