// Progressive delivery as a small state machine, in the manner of Flagger's
// canary analysis: a pure function from what the route controller observed
// (the policy, the last status, the stable split, the newest revision, the
// gateways' counts for it since the step began, a user's promote or abort)
// to the split to apply now, the status to record, and what to announce.
//
//   no canary ──newer revision──▶ Progressing(step 0) ──each step passed──▶ … ──last──▶ Promoted
//                                      │ a bound broken, or abort                      (spec rewritten
//                                      ▼                                                to the new one)
//                                  RolledBack (stays, until a newer revision or promote)
//
// A step's clock starts once the new revision has a ready Sandbox, so a
// cold start is never judged. It passes after its interval with at least
// minRequests requests; it fails as soon as minRequests requests show an
// error rate or p99 above the bounds.
import type { CanaryPolicy, CanaryStatus, ResolvedTarget } from '../../../kube/api/roost.ts';
import { ROUTE_DEFAULTS } from '../../../kube/api/defaults.ts';
import { kubeTime } from '../../../kube/conditions.ts';
import { latencyQuantile, type RevisionCounts } from '../../../gateway/revision-stats.ts';

export type CanaryAction = 'promote' | 'abort';

export interface CanaryInput {
  policy: CanaryPolicy;
  previous: CanaryStatus | undefined;
  /** The spec's targets, resolved: where traffic goes without a canary. */
  stable: ResolvedTarget[];
  /** The deployment's newest revision. */
  latest: ResolvedTarget | undefined;
  /** The newest revision's counts since its step began; undefined before it began. */
  window: RevisionCounts | undefined;
  action: CanaryAction | undefined;
  now: number;
}

export interface CanaryEvent {
  type: 'Normal' | 'Warning';
  reason: 'CanaryStarted' | 'CanaryStepPassed' | 'CanaryPromoted' | 'CanaryRolledBack';
  message: string;
}

export interface CanaryOutcome {
  status: CanaryStatus | undefined;
  /** The split for the gateways now. */
  targets: ResolvedTarget[];
  /** Rewrite the spec to send everything to this revision. */
  promoteTo?: number;
  event?: CanaryEvent;
  /** A step began: its counts start from here. */
  stepBegan: boolean;
  requeueAfterMs?: number;
}

/** How often a canary in progress is looked at again. */
export const CANARY_POLL_MS = 1000;

export function stepCanary(input: CanaryInput): CanaryOutcome {
  const { policy, previous, stable, latest, now } = input;
  const stableRevisions = stable.map((t) => t.revision);
  const candidate =
    latest && stableRevisions.every((r) => r < latest.revision) ? latest : undefined;
  if (!candidate) {
    // Nothing newer than the split: a canary the spec overtook is over.
    const status = previous?.phase === 'Progressing' ? undefined : previous;
    return { status, targets: stable, stepBegan: false };
  }
  const stableRevision = [...stable].sort((a, b) => b.percent - a.percent)[0]?.revision;
  const same = previous?.revision === candidate.revision;
  const base: CanaryStatus = {
    revision: candidate.revision,
    ...(stableRevision !== undefined ? { stableRevision } : {}),
  };

  if (input.action === 'promote') return promote(base, candidate, 'promoted by hand');
  if (input.action === 'abort' && !(same && previous?.phase === 'RolledBack'))
    return rollBack(base, stable, previous?.step ?? 0, 'aborted by hand');
  if (same && previous?.phase !== 'Progressing')
    return { status: previous, targets: stable, stepBegan: false };

  // Progressing: a new canary starts at step 0.
  const step = same ? (previous?.step ?? 0) : 0;
  const started = same ? previous?.stepStartedAt : undefined;
  const percent = policy.steps[step]!.percent;
  if (!started) {
    if (candidate.readySandboxes === 0 || candidate.readySandboxes === undefined)
      return {
        status: {
          ...base,
          phase: 'Progressing',
          step,
          message: `waiting for revision ${candidate.revision} to have a ready Sandbox`,
        },
        targets: stable,
        stepBegan: false,
        requeueAfterMs: CANARY_POLL_MS,
      };
    return {
      status: { ...base, phase: 'Progressing', step, stepStartedAt: kubeTime(new Date(now)) },
      targets: shift(stable, candidate, percent),
      stepBegan: true,
      requeueAfterMs: CANARY_POLL_MS,
      ...(step === 0
        ? {
            event: {
              type: 'Normal' as const,
              reason: 'CanaryStarted' as const,
              message: `Sending ${percent}% of traffic to revision ${candidate.revision}; revision ${stableRevision} keeps the rest`,
            },
          }
        : {}),
    };
  }

  const window = input.window ?? { requests: 0, errors: 0, latencyBuckets: [] };
  const minRequests = policy.minRequests ?? ROUTE_DEFAULTS.minRequests;
  const judged = window.requests >= Math.max(1, minRequests);
  const breach = judged ? boundBroken(policy, window) : undefined;
  if (breach) return rollBack(base, stable, step, `step ${step + 1} (${percent}%): ${breach}`);

  const elapsedMs = now - Date.parse(started);
  const intervalMs =
    (policy.steps[step]!.intervalSeconds ?? ROUTE_DEFAULTS.canaryIntervalSeconds) * 1000;
  const progressing = (message: string): CanaryOutcome => ({
    status: { ...base, phase: 'Progressing', step, stepStartedAt: started, message },
    targets: shift(stable, candidate, percent),
    stepBegan: false,
    requeueAfterMs: CANARY_POLL_MS,
  });
  if (elapsedMs < intervalMs) return progressing(summary(window));
  if (!judged)
    return progressing(
      `step ${step + 1} waits for ${minRequests} requests to revision ${candidate.revision}, has ${window.requests}`,
    );
  if (step + 1 >= policy.steps.length)
    return promote(base, candidate, `every step passed (last: ${summary(window)})`);
  const next = policy.steps[step + 1]!.percent;
  return {
    status: {
      ...base,
      phase: 'Progressing',
      step: step + 1,
      stepStartedAt: kubeTime(new Date(now)),
      message: `step ${step + 1} passed: ${summary(window)}`,
    },
    targets: shift(stable, candidate, next),
    stepBegan: true,
    requeueAfterMs: CANARY_POLL_MS,
    event: {
      type: 'Normal',
      reason: 'CanaryStepPassed',
      message: `Revision ${candidate.revision} passed step ${step + 1} (${percent}%: ${summary(window)}); now ${next}%`,
    },
  };
}

/** Which bound the window breaks, said for a person; undefined if none. */
export function boundBroken(policy: CanaryPolicy, window: RevisionCounts): string | undefined {
  const maxErrorPercent = policy.maxErrorPercent ?? ROUTE_DEFAULTS.maxErrorPercent;
  const errorPercent = (100 * window.errors) / window.requests;
  if (errorPercent > maxErrorPercent)
    return `${window.errors} of ${window.requests} requests failed (${errorPercent.toFixed(1)}%), above maxErrorPercent ${maxErrorPercent}`;
  const p99 = latencyQuantile(window, 0.99);
  if (policy.maxLatencyMs !== undefined && p99 > policy.maxLatencyMs)
    return `p99 latency ${formatMs(p99)} over ${window.requests} requests, above maxLatencyMs ${policy.maxLatencyMs}`;
  return undefined;
}

/** The stable split with `percent` taken out, in proportion, and given to the candidate. */
export function shift(
  stable: readonly ResolvedTarget[],
  candidate: ResolvedTarget,
  percent: number,
): ResolvedTarget[] {
  const scaled = stable.map((t) => ({
    ...t,
    percent: Math.floor((t.percent * (100 - percent)) / 100),
  }));
  const leftover = 100 - percent - scaled.reduce((n, t) => n + t.percent, 0);
  const largest = scaled.reduce((a, b) => (b.percent > a.percent ? b : a), scaled[0]!);
  if (largest) largest.percent += leftover;
  return [...scaled, { ...candidate, percent }];
}

function promote(base: CanaryStatus, candidate: ResolvedTarget, why: string): CanaryOutcome {
  return {
    status: { ...base, phase: 'Promoted', message: why },
    targets: [{ ...candidate, percent: 100 }],
    promoteTo: candidate.revision,
    stepBegan: false,
    event: {
      type: 'Normal',
      reason: 'CanaryPromoted',
      message: `Revision ${candidate.revision} takes all traffic: ${why}`,
    },
  };
}

function rollBack(
  base: CanaryStatus,
  stable: ResolvedTarget[],
  step: number,
  why: string,
): CanaryOutcome {
  return {
    status: { ...base, phase: 'RolledBack', step, message: why },
    targets: stable,
    stepBegan: false,
    event: {
      type: 'Warning',
      reason: 'CanaryRolledBack',
      message: `Rolled revision ${base.revision} back to revision ${base.stableRevision}: ${why}`,
    },
  };
}

function summary(window: RevisionCounts): string {
  if (window.requests === 0) return 'no requests yet';
  const p99 = latencyQuantile(window, 0.99);
  return `${window.requests} requests, ${((100 * window.errors) / window.requests).toFixed(1)}% failed, p99 ${formatMs(p99)}`;
}

function formatMs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'over 30 s';
}
