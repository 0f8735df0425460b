import { expect, test } from 'vitest';
import type { SandboxReplicaSet } from '../../../kube/api/roost.ts';
import { makeSandbox } from './sandbox.ts';

test('a Sandbox is the template, named after its ReplicaSet and owned by it', () => {
  const rs: SandboxReplicaSet = {
    metadata: { name: 'fn-abc', namespace: 'ns', uid: 'u-1' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { a: '1' } },
      template: {
        metadata: { labels: { a: '1' }, annotations: { note: 'x' } },
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            code: { inline: { files: { 'index.mjs': '' } } },
          },
        },
      },
    },
  };
  const sandbox = makeSandbox(rs);
  expect(sandbox).toEqual({
    metadata: {
      generateName: 'fn-abc-',
      namespace: 'ns',
      labels: { a: '1' },
      annotations: { note: 'x' },
      ownerReferences: [
        {
          apiVersion: 'roost.dev/v1alpha1',
          kind: 'SandboxReplicaSet',
          name: 'fn-abc',
          uid: 'u-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: rs.spec.template.spec,
  });
  // A copy: changing the Sandbox does not change the template.
  sandbox.spec.function.handler = 'other.handler';
  expect(rs.spec.template.spec.function.handler).toBe('index.handler');
});
