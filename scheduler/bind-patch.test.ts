import { describe, expect, test } from 'vitest';
import type { Sandbox } from '../kube/api/roost.ts';
import { bindPatch } from './bind-patch.ts';

const sandbox = (finalizers?: string[]): Sandbox => ({
  metadata: {
    name: 'a',
    namespace: 'ns',
    resourceVersion: '42',
    ...(finalizers ? { finalizers } : {}),
  },
  spec: { function: { runtime: 'java', handler: 'a.B', code: { configMap: { name: 'c' } } } },
});

describe('bindPatch', () => {
  test('sets podName and adds the sidecar finalizer, on the resourceVersion it was decided on', () => {
    expect(bindPatch(sandbox(), 'host-1')).toEqual({
      metadata: { resourceVersion: '42', finalizers: ['roost.dev/sidecar'] },
      spec: { podName: 'host-1' },
    });
  });

  test("keeps other finalizers and does not add the sidecar's twice", () => {
    expect(bindPatch(sandbox(['example.com/keep']), 'h').metadata!.finalizers).toEqual([
      'example.com/keep',
      'roost.dev/sidecar',
    ]);
    expect(bindPatch(sandbox(['roost.dev/sidecar']), 'h').metadata).toEqual({
      resourceVersion: '42',
    });
  });
});
