// Label selectors as Roost uses them: matchLabels only, which is all the CRDs
// allow. One place for matching and for the string form the scale
// subresource and `kubectl get -l` understand.
import type { LabelSelector } from './api/meta.ts';

export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = selector?.matchLabels;
  // An empty selector selects nothing, as for ReplicaSets: adopting every
  // Sandbox of a namespace is never what anyone meant.
  if (!wanted || Object.keys(wanted).length === 0) return false;
  return Object.entries(wanted).every(([key, value]) => labels?.[key] === value);
}

/** "a=1,b=2", keys sorted so that the string is stable. */
export function selectorString(selector: LabelSelector | undefined): string {
  return Object.entries(selector?.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
