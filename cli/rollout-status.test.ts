import { expect, test } from 'vitest';
import type { SandboxDeployment } from '../kube/api/roost.ts';
import { rolloutState } from './rollout-status.ts';

function deployment(
  spec: { replicas?: number; paused?: boolean },
  generation: number,
  status: NonNullable<SandboxDeployment['status']> & { updatedReplicas?: number },
): SandboxDeployment {
  return {
    metadata: { name: 'hello', namespace: 'default', generation },
    spec: {
      ...spec,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            code: { inline: { files: {} } },
          },
        },
      },
    },
    status,
  };
}

test.each([
  [
    'the controller has not seen the change',
    deployment({ replicas: 1 }, 2, { observedGeneration: 1 }),
    false,
    'waiting for the controller',
  ],
  [
    'no new Sandbox yet',
    deployment({ replicas: 2 }, 1, { observedGeneration: 1, updatedReplicas: 1, replicas: 1 }),
    false,
    '1 of 2 new Sandboxes created',
  ],
  [
    'old Sandboxes left',
    deployment({ replicas: 1 }, 1, { observedGeneration: 1, updatedReplicas: 1, replicas: 2 }),
    false,
    '1 old Sandboxes still terminating',
  ],
  [
    'new ones not available yet',
    deployment({ replicas: 2 }, 1, {
      observedGeneration: 1,
      updatedReplicas: 2,
      replicas: 2,
      availableReplicas: 1,
    }),
    false,
    '1 of 2 new Sandboxes available',
  ],
  [
    'all available',
    deployment({ replicas: 2 }, 1, {
      observedGeneration: 1,
      updatedReplicas: 2,
      replicas: 2,
      availableReplicas: 2,
    }),
    true,
    'hello rolled out: 2 of 2',
  ],
  [
    'scaled to zero',
    deployment({ replicas: 0 }, 3, { observedGeneration: 3 }),
    true,
    'at zero Sandboxes; the first request starts one',
  ],
])('%s', (_, d, done, message) => {
  const state = rolloutState(d);
  expect(state.done).toBe(done);
  expect(state.message).toContain(message);
});

test('a rollout past its progress deadline has failed', () => {
  const d = deployment({ replicas: 1 }, 1, {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "hello-abc" has timed out progressing.',
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ],
  });
  expect(rolloutState(d)).toEqual({
    done: false,
    failed: true,
    message: expect.stringContaining('progress deadline') as string,
  });
});
