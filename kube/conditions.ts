// metav1.Condition lists: read one, and set one so that lastTransitionTime
// moves only when the status does, as the API conventions ask.
import type { Condition } from './api/meta.ts';

export function findCondition(
  conditions: Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** Seconds-precision RFC 3339, the form metav1.Time serialises to. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * A copy of `conditions` with `next` in place of the condition of its type.
 * The old lastTransitionTime is kept when the status did not change.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string },
  now = new Date(),
): Condition[] {
  const previous = findCondition(conditions, next.type);
  const lastTransitionTime =
    next.lastTransitionTime ??
    (previous && previous.status === next.status ? previous.lastTransitionTime : kubeTime(now));
  const condition: Condition = { ...next, lastTransitionTime };
  const others = (conditions ?? []).filter((c) => c.type !== next.type);
  return [...others, condition].sort((a, b) => a.type.localeCompare(b.type));
}
