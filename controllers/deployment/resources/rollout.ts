// The arithmetic of a rollout, as Kubernetes' deployment controller does it
// (rolling.go, recreate.go, deployment_util.go), as pure functions: given
// the deployment and its ReplicaSets, which ReplicaSet to scale to what.
// maxSurge rounds up and maxUnavailable rounds down, so that a percentage
// never blocks progress nor over-shoots availability; if both come to zero,
// maxUnavailable becomes 1 so the rollout can move at all.
import type {
  IntOrPercent,
  SandboxDeployment,
  SandboxReplicaSet,
} from '../../../kube/api/roost.ts';
import { RoostError } from '../../../lib/errors.ts';

export class InvalidIntOrPercentError extends RoostError {
  constructor(value: IntOrPercent) {
    super(
      'ROOST_INVALID_INT_OR_PERCENT',
      `Cannot read ${JSON.stringify(value)}: a rollout bound is a whole number or a percentage such as "25%"`,
    );
  }
}

export function scaledValue(value: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (!match) {
    if (/^\d+$/.test(value)) return Number(value);
    throw new InvalidIntOrPercentError(value);
  }
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export interface Fenceposts {
  maxSurge: number;
  maxUnavailable: number;
}

export function resolveFenceposts(
  maxSurge: IntOrPercent | undefined,
  maxUnavailable: IntOrPercent | undefined,
  replicas: number,
): Fenceposts {
  const surge = scaledValue(maxSurge ?? '25%', replicas, true);
  let unavailable = scaledValue(maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { maxSurge: surge, maxUnavailable: unavailable };
}

const desiredOf = (deployment: SandboxDeployment) => deployment.spec.replicas ?? 1;
const specOf = (rs: SandboxReplicaSet) => rs.spec.replicas ?? 0;
const availableOf = (rs: SandboxReplicaSet) => rs.status?.availableReplicas ?? 0;

function fenceposts(deployment: SandboxDeployment): Fenceposts {
  const rolling = deployment.spec.strategy?.rollingUpdate;
  return resolveFenceposts(rolling?.maxSurge, rolling?.maxUnavailable, desiredOf(deployment));
}

/** How many may be unavailable, never more than replicas; 0 for Recreate. */
export function maxUnavailable(deployment: SandboxDeployment): number {
  if (deployment.spec.strategy?.type === 'Recreate' || desiredOf(deployment) === 0) return 0;
  return Math.min(fenceposts(deployment).maxUnavailable, desiredOf(deployment));
}

/** The replicas the new ReplicaSet may have now, under maxSurge. */
export function newReplicaSetReplicas(
  deployment: SandboxDeployment,
  all: SandboxReplicaSet[],
  newReplicas: number,
): number {
  const desired = desiredOf(deployment);
  if (deployment.spec.strategy?.type === 'Recreate') return desired;
  const { maxSurge } = fenceposts(deployment);
  const current = all.reduce((n, rs) => n + specOf(rs), 0);
  const maxTotal = desired + maxSurge;
  if (current >= maxTotal) return newReplicas;
  return newReplicas + Math.max(0, Math.min(maxTotal - current, desired - newReplicas));
}

export interface ScaleAction {
  name: string;
  from: number;
  to: number;
}

const byAge = (a: SandboxReplicaSet, b: SandboxReplicaSet) =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
  (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');

/**
 * One step of a rolling update: scale the new ReplicaSet up within maxSurge,
 * or else scale old ones down while at least replicas - maxUnavailable stay
 * available (first the old Sandboxes that are not available anyway, then
 * available ones, oldest ReplicaSet first). Empty when nothing can move.
 */
export function planRollingUpdate(
  deployment: SandboxDeployment,
  newRS: SandboxReplicaSet,
  oldRSs: SandboxReplicaSet[],
): ScaleAction[] {
  const desired = desiredOf(deployment);
  const all = [newRS, ...oldRSs];
  // The new ReplicaSet first: up within the surge, or down to replicas.
  const newTarget =
    specOf(newRS) > desired ? desired : newReplicaSetReplicas(deployment, all, specOf(newRS));
  if (newTarget !== specOf(newRS))
    return [{ name: newRS.metadata.name!, from: specOf(newRS), to: newTarget }];

  const oldTotal = oldRSs.reduce((n, rs) => n + specOf(rs), 0);
  if (oldTotal === 0) return [];
  const allTotal = oldTotal + specOf(newRS);
  const minAvailable = desired - maxUnavailable(deployment);
  const newUnavailable = specOf(newRS) - availableOf(newRS);
  const maxScaledDown = allTotal - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const actions: ScaleAction[] = [];
  const target = new Map(oldRSs.map((rs) => [rs.metadata.name!, specOf(rs)]));
  const old = [...oldRSs].sort(byAge);
  // Sandboxes of old ReplicaSets that are not available cost nothing to lose.
  let cleaned = 0;
  for (const rs of old) {
    if (cleaned >= maxScaledDown) break;
    const spec = target.get(rs.metadata.name!)!;
    const unhealthy = spec - availableOf(rs);
    if (spec === 0 || unhealthy <= 0) continue;
    const down = Math.min(maxScaledDown - cleaned, unhealthy);
    target.set(rs.metadata.name!, spec - down);
    cleaned += down;
  }
  // Then available ones, while enough stay available.
  const available = all.reduce((n, rs) => n + availableOf(rs), 0);
  const canLose = Math.min(available - minAvailable, maxScaledDown - cleaned);
  let scaled = 0;
  for (const rs of old) {
    if (scaled >= canLose) break;
    const spec = target.get(rs.metadata.name!)!;
    if (spec === 0) continue;
    const down = Math.min(spec, canLose - scaled);
    target.set(rs.metadata.name!, spec - down);
    scaled += down;
  }
  for (const rs of old) {
    const to = target.get(rs.metadata.name!)!;
    if (to !== specOf(rs)) actions.push({ name: rs.metadata.name!, from: specOf(rs), to });
  }
  return actions;
}

/**
 * One step of a Recreate rollout: scale every old ReplicaSet to zero, wait
 * until none of their Sandboxes is left, then scale the new one up.
 */
export function planRecreate(
  deployment: SandboxDeployment,
  newRS: SandboxReplicaSet,
  oldRSs: SandboxReplicaSet[],
  oldSandboxesLeft: number,
): ScaleAction[] {
  const activeOld = oldRSs.filter((rs) => specOf(rs) > 0);
  if (activeOld.length > 0)
    return activeOld.map((rs) => ({ name: rs.metadata.name!, from: specOf(rs), to: 0 }));
  if (oldSandboxesLeft > 0) return [];
  const desired = desiredOf(deployment);
  if (specOf(newRS) === desired) return [];
  return [{ name: newRS.metadata.name!, from: specOf(newRS), to: desired }];
}

/** Updated, and every replica of the new revision available: the rollout is done. */
export function rolloutComplete(
  deployment: SandboxDeployment,
  status: { updatedReplicas?: number; replicas?: number; availableReplicas?: number },
): boolean {
  const desired = desiredOf(deployment);
  return (
    (status.updatedReplicas ?? 0) === desired &&
    (status.replicas ?? 0) === desired &&
    (status.availableReplicas ?? 0) >= desired
  );
}
