// How the controllers read a Sandbox's state: ready, available, failed, terminating.
import type { Sandbox } from '../../kube/api/roost.ts';
import { findCondition } from '../../kube/conditions.ts';
import { HOST_LOST_REASON } from '../../kube/well-known.ts';

export function isTerminating(sandbox: Sandbox): boolean {
  return !!sandbox.metadata.deletionTimestamp;
}

/** Ready=True and not being deleted: it takes requests. */
export function isReady(sandbox: Sandbox): boolean {
  return (
    !isTerminating(sandbox) && findCondition(sandbox.status?.conditions, 'Ready')?.status === 'True'
  );
}

/** Since when it has been Ready, in ms; undefined when it is not. */
export function readySince(sandbox: Sandbox): number | undefined {
  if (!isReady(sandbox)) return undefined;
  const at = findCondition(sandbox.status?.conditions, 'Ready')?.lastTransitionTime;
  return at ? Date.parse(at) : 0;
}

/** Ready for at least minReadySeconds at `now`. */
export function isAvailable(sandbox: Sandbox, minReadySeconds: number, now: number): boolean {
  const since = readySince(sandbox);
  return since !== undefined && (minReadySeconds === 0 || since + minReadySeconds * 1000 <= now);
}

/**
 * Failed and not being deleted: its host gave up on it (the code cannot be
 * fetched or loaded). A Sandbox failed because its host pod was lost is not
 * counted: it is being replaced elsewhere, and its function may be fine. The
 * gateway fails requests at once on the failure this reports, so a lost host
 * read as one would answer 502 for a function that is only moving.
 */
export function isFailed(sandbox: Sandbox): boolean {
  return (
    !isTerminating(sandbox) &&
    sandbox.status?.phase === 'Failed' &&
    sandbox.status.reason !== HOST_LOST_REASON
  );
}
