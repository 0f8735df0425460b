// Status is written only when it changed: every write wakes every watcher,
// and a controller that rewrote identical status on each resync would keep
// the whole system busy for nothing.
import { isDeepStrictEqual } from 'node:util';

/** Equal as JSON values: undefined fields and the order of object keys do not matter. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b));
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = normalize(v);
    }
    return out;
  }
  return value;
}
