import { expect, test } from 'vitest';
import type { Sandbox } from '../../../kube/api/roost.ts';
import { computeEndpointsStatus, makeEndpoints } from './endpoints.ts';

const sandbox = (
  name: string,
  state: {
    ready?: boolean;
    wasReady?: boolean;
    deleting?: boolean;
    address?: string;
    phase?: string;
  },
): Sandbox => ({
  metadata: {
    name,
    labels: { 'roost.dev/template-hash': 'h1' },
    deletionTimestamp: state.deleting ? 'x' : undefined,
  },
  spec: {
    podName: 'pod-1',
    function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } },
  },
  status: {
    phase: (state.phase ?? 'Running') as 'Running',
    address:
      state.address === undefined ? `10.0.0.${name.length}:50051` : state.address || undefined,
    conditions: [
      {
        type: 'Ready',
        status: state.ready || state.wasReady ? 'True' : 'False',
        reason: '',
        message: '',
        lastTransitionTime: 'x',
      },
    ],
  },
});

test.each<{
  name: string;
  sandboxes: Sandbox[];
  want: { listed: string[]; ready: number; summary: string };
}>([
  {
    name: 'ready Sandboxes are listed with address, pod and revision',
    sandboxes: [sandbox('b', { ready: true }), sandbox('aa', { ready: true })],
    want: { listed: ['aa:ready', 'b:ready'], ready: 2, summary: '10.0.0.2:50051,10.0.0.1:50051' },
  },
  {
    name: 'a terminating Sandbox that was serving stays listed, not ready, terminating',
    sandboxes: [sandbox('a', { wasReady: true, deleting: true }), sandbox('b', { ready: true })],
    want: { listed: ['a:terminating', 'b:ready'], ready: 1, summary: '10.0.0.1:50051' },
  },
  {
    name: 'not ready and never serving: not listed',
    sandboxes: [sandbox('a', { phase: 'Starting' }), sandbox('b', { ready: true, address: '' })],
    want: { listed: [], ready: 0, summary: '<none>' },
  },
  {
    name: 'the summary shows three and counts the rest, as kubectl does',
    sandboxes: ['a', 'b', 'c', 'd', 'e'].map((n) => sandbox(n, { ready: true, address: `${n}:1` })),
    want: {
      listed: ['a:ready', 'b:ready', 'c:ready', 'd:ready', 'e:ready'],
      ready: 5,
      summary: 'a:1,b:1,c:1 + 2 more...',
    },
  },
])('$name', ({ sandboxes, want }) => {
  const status = computeEndpointsStatus(sandboxes);
  expect(
    status.endpoints!.map(
      (e) => `${e.sandbox}:${e.ready ? 'ready' : e.terminating ? 'terminating' : '?'}`,
    ),
  ).toEqual(want.listed);
  expect(status.readyCount).toBe(want.ready);
  expect(status.summary).toBe(want.summary);
  for (const e of status.endpoints!) expect(e).toMatchObject({ podName: 'pod-1', revision: 'h1' });
});

test('the SandboxEndpoints is named after its deployment and owned by it', () => {
  const e = makeEndpoints({
    metadata: { name: 'hello', namespace: 'ns', uid: 'u' },
    spec: { template: { spec: { function: { runtime: 'nodejs', handler: 'i.h', code: {} } } } },
  });
  expect(e.metadata).toMatchObject({
    name: 'hello',
    namespace: 'ns',
    ownerReferences: [{ kind: 'SandboxDeployment', name: 'hello', uid: 'u', controller: true }],
  });
});
