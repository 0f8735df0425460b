import { describe, expect, test } from 'vitest';
import type { SandboxRoute } from '../../../kube/api/roost.ts';
import { newestRevisionReplicas, replicasForShare, routedRevisions } from './routed.ts';

const route = (spec: SandboxRoute['spec'], status?: SandboxRoute['status']): SandboxRoute => ({
  metadata: { name: 'r', namespace: 'n' },
  spec,
  status,
});

describe('routedRevisions', () => {
  test('takes the largest share any route gives, and tags from spec and status', () => {
    const shares = routedRevisions([
      route(
        {
          deployment: 'd',
          targets: [
            { revision: 3, percent: 90 },
            { latestRevision: true, percent: 10 },
          ],
        },
        {
          targets: [
            { revision: 3, replicaSet: 'd-a', percent: 90 },
            { revision: 4, replicaSet: 'd-b', percent: 10 },
          ],
        },
      ),
      route({
        deployment: 'd',
        targets: [
          { revision: 2, percent: 0, tag: 'old' },
          { revision: 4, percent: 100 },
        ],
      }),
    ]);
    expect(Object.fromEntries(shares)).toEqual({
      2: { percent: 0, tagged: true },
      3: { percent: 90, tagged: false },
      4: { percent: 100, tagged: false },
    });
  });
});

describe('replicas for a share', () => {
  test.each([
    { replicas: 10, percent: 90, tagged: false, want: 9 },
    { replicas: 10, percent: 5, tagged: false, want: 1 },
    { replicas: 3, percent: 50, tagged: false, want: 2 },
    { replicas: 4, percent: 0, tagged: true, want: 1 },
    { replicas: 4, percent: 0, tagged: false, want: 0 },
    { replicas: 0, percent: 90, tagged: true, want: 0 },
  ])('$percent% of $replicas (tagged $tagged) is $want', ({ replicas, percent, tagged, want }) => {
    expect(replicasForShare(replicas, { percent, tagged })).toBe(want);
  });

  test('the newest revision takes everything without a default route, its share with one, at least one', () => {
    expect(newestRevisionReplicas(6, false, { percent: 10, tagged: false })).toBe(6);
    expect(newestRevisionReplicas(6, true, { percent: 50, tagged: false })).toBe(3);
    expect(newestRevisionReplicas(6, true, undefined)).toBe(1);
    expect(newestRevisionReplicas(0, true, undefined)).toBe(0);
  });
});
