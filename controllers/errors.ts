// Errors of the workload controllers, each with a stable code. A reconcile
// that throws one is retried with back-off; the message says what could not
// be done and why.
import { RoostError } from '../lib/errors.ts';

/** A ReplicaSet name derived from a template hash belongs to another object. */
export class NameCollisionError extends RoostError {
  constructor(kind: string, name: string, options?: ErrorOptions) {
    super(
      'ROOST_NAME_COLLISION',
      `Cannot create ${kind} ${name}: the name is taken by another object; the next attempt uses another hash`,
      options,
    );
  }
}

/** Creating or deleting replicas failed part-way. */
export class ReplicasNotReachedError extends RoostError {
  constructor(owner: string, replicas: number, why: string) {
    super('ROOST_REPLICAS_NOT_REACHED', `Cannot bring ${owner} to ${replicas} replicas: ${why}`);
  }
}

/** Some Sandboxes of a lost host pod could not be failed and released; the rest were. */
export class EvictionIncompleteError extends RoostError {
  constructor(podName: string, failed: number, total: number, firstError: string) {
    super(
      'ROOST_EVICTION_INCOMPLETE',
      `Cannot move every Sandbox off lost host pod ${podName}: ${failed} of ${total} failed (first: ${firstError}); retrying those`,
    );
  }
}
