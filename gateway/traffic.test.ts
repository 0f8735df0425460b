// Resolution of (namespace, name, qualifier) to revisions over a FunctionTable
// fed by hand, and the weighted draw.
import { describe, expect, test } from 'vitest';
import type { SandboxRoute } from '../kube/api/roost.ts';
import { FunctionEntry, type FunctionTable } from './function-table.ts';
import { chooseRevision, resolveTarget } from './traffic.ts';

function table(routes: SandboxRoute[], latest = 4): FunctionTable {
  const entry = new FunctionEntry('ns', 'fn');
  entry.setDeployment({
    metadata: { name: 'fn', namespace: 'ns' },
    spec: { template: { spec: { function: { runtime: 'nodejs', handler: 'i.h', code: {} } } } },
    status: { revision: latest },
  });
  for (const r of routes) entry.routes.set(r.metadata.name!, r);
  return {
    get: (namespace: string, name: string) =>
      namespace === 'ns' && name === 'fn' ? entry : undefined,
  } as unknown as FunctionTable;
}

function route(name: string, targets: { revision: number; percent: number; tag?: string }[]) {
  return {
    metadata: { name, namespace: 'ns' },
    spec: { deployment: 'fn', targets },
    status: { targets: targets.map((t) => ({ ...t, replicaSet: `fn-${t.revision}` })) },
  } satisfies SandboxRoute;
}

const split = (t: ReturnType<typeof resolveTarget>) =>
  t.split?.map((s) => `${s.revision}=${s.percent}`).join(',');

describe('resolveTarget', () => {
  const routes = [
    route('fn', [
      { revision: 3, percent: 90 },
      { revision: 4, percent: 10, tag: 'canary' },
    ]),
    route('beta', [{ revision: 4, percent: 100 }]),
    route('old', [
      { revision: 2, percent: 0, tag: 'two' },
      { revision: 4, percent: 100 },
    ]),
  ];

  test.each([
    { qualifier: undefined, want: '3=90,4=10' },
    { qualifier: 'beta', want: '4=100' },
    { qualifier: 'canary', want: '4=100' },
    { qualifier: 'two', want: '2=100' },
    { qualifier: '3', want: '3=100' },
    { qualifier: '$LATEST', want: '4=100' },
  ])('fn@$qualifier goes to $want', ({ qualifier, want }) => {
    expect(split(resolveTarget(table(routes), 'ns', 'fn', qualifier))).toBe(want);
  });

  test('only a revision that nothing but a tag at 0% reaches may sleep and be woken', () => {
    const t = table(routes);
    expect(chooseRevision(resolveTarget(t, 'ns', 'fn', 'two'))).toEqual({
      revision: 2,
      wakeable: true,
    });
    expect(chooseRevision(resolveTarget(t, 'ns', 'fn', '2'))).toEqual({
      revision: 2,
      wakeable: true,
    });
    // A tag on a revision that takes traffic, and an alias's revision: never asleep.
    expect(chooseRevision(resolveTarget(t, 'ns', 'fn', 'canary'))).toEqual({ revision: 4 });
    expect(chooseRevision(resolveTarget(t, 'ns', 'fn', 'beta'))).toEqual({ revision: 4 });
  });

  test('an unknown alias, tag or unrouted revision is a 404 naming it', () => {
    for (const q of ['nope', '1', 'fn'])
      expect(() => resolveTarget(table(routes), 'ns', 'fn', q)).toThrow(
        expect.objectContaining({ status: 404, code: 'ROOST_QUALIFIER_NOT_FOUND' }),
      );
    expect(() => resolveTarget(table(routes), 'ns', 'other')).toThrow(
      expect.objectContaining({ status: 404, code: 'ROOST_FUNCTION_NOT_FOUND' }),
    );
  });

  test('without a default route, unqualified traffic avoids revisions only aliases keep', () => {
    const target = resolveTarget(table(routes.slice(1)), 'ns', 'fn');
    expect(target.split).toBeUndefined();
    expect([...target.unrouted!.excluding!]).toEqual([2]);
  });
});

describe('chooseRevision', () => {
  test('draws by weight, skipping 0%; a lone 0% tag still answers', () => {
    const target = resolveTarget(
      table([
        route('fn', [
          { revision: 3, percent: 90 },
          { revision: 9, percent: 0 },
          { revision: 4, percent: 10 },
        ]),
      ]),
      'ns',
      'fn',
    );
    expect(chooseRevision(target, () => 0)).toEqual({ revision: 3 });
    expect(chooseRevision(target, () => 0.8999)).toEqual({ revision: 3 });
    expect(chooseRevision(target, () => 0.9)).toEqual({ revision: 4 });
    expect(chooseRevision(target, () => 0.99999)).toEqual({ revision: 4 });
    expect(chooseRevision({ ...target, split: [{ revision: 9, percent: 0 }] }, () => 0.5)).toEqual({
      revision: 9,
    });
  });
});
