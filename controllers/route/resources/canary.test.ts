// The canary state machine as rows: what was observed in, what split, status
// and announcement come out.
import { describe, expect, test } from 'vitest';
import type { CanaryPolicy, CanaryStatus, ResolvedTarget } from '../../../kube/api/roost.ts';
import {
  emptyCounts,
  RevisionStats,
  type RevisionCounts,
} from '../../../gateway/revision-stats.ts';
import { shift, stepCanary, type CanaryInput } from './canary.ts';

const policy: CanaryPolicy = {
  steps: [
    { percent: 10, intervalSeconds: 60 },
    { percent: 50, intervalSeconds: 60 },
  ],
  maxErrorPercent: 5,
  maxLatencyMs: 200,
  minRequests: 20,
};
const T0 = Date.parse('2026-01-01T00:00:00Z');
const stable: ResolvedTarget[] = [
  { revision: 3, replicaSet: 'fn-a', percent: 100, readySandboxes: 2 },
];
const latest: ResolvedTarget = { revision: 4, replicaSet: 'fn-b', percent: 0, readySandboxes: 1 };

function counts(requests: number, errors: number, ms: number): RevisionCounts {
  const stats = new RevisionStats();
  for (let i = 0; i < requests; i++) stats.record('n', 'f', 4, i < errors ? 502 : 200, ms);
  return stats.report('g').revisions[0] ?? emptyCounts();
}

const progressing = (step: number, startedSecondsAgo: number): CanaryStatus => ({
  phase: 'Progressing',
  revision: 4,
  stableRevision: 3,
  step,
  stepStartedAt: new Date(T0 - startedSecondsAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
});

const split = (targets: ResolvedTarget[]) =>
  targets.map((t) => `${t.revision}=${t.percent}`).join(',');

describe('stepCanary', () => {
  test.each<{
    name: string;
    input: Partial<CanaryInput>;
    phase: string | undefined;
    split: string;
    event?: string;
    promoteTo?: number;
    step?: number;
  }>([
    {
      name: 'no revision newer than the split: no canary',
      input: { latest: { ...latest, revision: 3 } },
      phase: undefined,
      split: '3=100',
    },
    {
      name: 'a new revision without a ready Sandbox waits, all traffic stable',
      input: { latest: { ...latest, readySandboxes: 0 } },
      phase: 'Progressing',
      split: '3=100',
    },
    {
      name: 'a ready new revision starts step 1 with its percent',
      input: {},
      phase: 'Progressing',
      split: '3=90,4=10',
      event: 'CanaryStarted',
      step: 0,
    },
    {
      name: 'within the interval and the bounds, the step goes on',
      input: { previous: progressing(0, 30), window: counts(40, 1, 20) },
      phase: 'Progressing',
      split: '3=90,4=10',
    },
    {
      name: 'an error rate above the bound rolls back at once, mid-step',
      input: { previous: progressing(0, 5), window: counts(20, 2, 20) },
      phase: 'RolledBack',
      split: '3=100',
      event: 'CanaryRolledBack',
    },
    {
      name: 'a p99 above the bound rolls back',
      input: { previous: progressing(1, 5), window: counts(30, 0, 400) },
      phase: 'RolledBack',
      split: '3=100',
      event: 'CanaryRolledBack',
    },
    {
      name: 'too few requests judge nothing, even failing ones: the step waits past its interval',
      input: { previous: progressing(0, 90), window: counts(5, 5, 20) },
      phase: 'Progressing',
      split: '3=90,4=10',
    },
    {
      name: 'a passed step moves to the next percent',
      input: { previous: progressing(0, 61), window: counts(40, 0, 20) },
      phase: 'Progressing',
      split: '3=50,4=50',
      event: 'CanaryStepPassed',
      step: 1,
    },
    {
      name: 'the last step passed promotes: the spec moves to the new revision',
      input: { previous: progressing(1, 61), window: counts(40, 0, 20) },
      phase: 'Promoted',
      split: '4=100',
      event: 'CanaryPromoted',
      promoteTo: 4,
    },
    {
      name: 'rolled back stays rolled back for that revision',
      input: { previous: { phase: 'RolledBack', revision: 4, stableRevision: 3 } },
      phase: 'RolledBack',
      split: '3=100',
    },
    {
      name: 'a newer revision after a rollback starts a new canary',
      input: {
        previous: { phase: 'RolledBack', revision: 4, stableRevision: 3 },
        latest: { ...latest, revision: 5 },
      },
      phase: 'Progressing',
      split: '3=90,5=10',
      event: 'CanaryStarted',
    },
    {
      name: 'promote by hand skips the remaining steps',
      input: { previous: progressing(0, 1), action: 'promote' },
      phase: 'Promoted',
      split: '4=100',
      promoteTo: 4,
      event: 'CanaryPromoted',
    },
    {
      name: 'abort by hand rolls back',
      input: { previous: progressing(0, 1), action: 'abort' },
      phase: 'RolledBack',
      split: '3=100',
      event: 'CanaryRolledBack',
    },
  ])('$name', (row) => {
    const outcome = stepCanary({
      policy,
      previous: undefined,
      stable,
      latest,
      window: undefined,
      action: undefined,
      now: T0,
      ...row.input,
    });
    expect(outcome.status?.phase).toBe(row.phase);
    expect(split(outcome.targets)).toBe(row.split);
    expect(outcome.event?.reason).toBe(row.event);
    expect(outcome.promoteTo).toBe(row.promoteTo);
    if (row.step !== undefined) expect(outcome.status?.step).toBe(row.step);
  });

  test('a rollback says why, with the numbers', () => {
    const outcome = stepCanary({
      policy,
      previous: progressing(0, 5),
      stable,
      latest,
      window: counts(20, 2, 20),
      action: undefined,
      now: T0,
    });
    expect(outcome.status?.message).toBe(
      'step 1 (10%): 2 of 20 requests failed (10.0%), above maxErrorPercent 5',
    );
    expect(outcome.event?.message).toBe(
      `Rolled revision 4 back to revision 3: ${outcome.status?.message}`,
    );
  });
});

describe('shift', () => {
  test('takes the canary percent from the stable targets in proportion, adding up to 100', () => {
    const two: ResolvedTarget[] = [
      { revision: 2, replicaSet: 'a', percent: 67 },
      { revision: 3, replicaSet: 'b', percent: 33 },
    ];
    expect(split(shift(two, latest, 10))).toBe('2=61,3=29,4=10');
  });
});
