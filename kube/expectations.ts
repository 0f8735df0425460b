// Expectations, as in Kubernetes' controller_utils.go: a controller that has
// just created or deleted children must not act again on a cache that has not
// seen those writes yet, or it would create (or delete) the same replicas
// twice. It records what it expects to see per owner key; informer events
// count them down; until they reach zero (or the record expires, in case an
// event was lost) the owner is "not satisfied" and the controller only
// updates status.

/** After this long a record is ignored: a lost watch event must not wedge an owner forever. */
const DEFAULT_TTL_MS = 5 * 60 * 1000;

interface Record {
  creations: number;
  /** UIDs of children whose deletion has been asked for and not yet seen. */
  deletions: Set<string>;
  setAt: number;
}

export interface ExpectationsOptions {
  ttlMs?: number;
  /** For tests: the current time in ms. */
  now?: () => number;
}

export class Expectations {
  readonly #records = new Map<string, Record>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: ExpectationsOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** True when the owner may act: nothing outstanding, or the record expired. */
  satisfied(key: string): boolean {
    const record = this.#records.get(key);
    if (!record) return true;
    if (record.creations <= 0 && record.deletions.size === 0) return true;
    return this.#now() - record.setAt > this.#ttlMs;
  }

  /** Call before sending `count` creates. */
  expectCreations(key: string, count: number): void {
    const record = this.#fresh(key);
    record.creations += count;
  }

  /** Call before sending deletes for these children. */
  expectDeletions(key: string, uids: string[]): void {
    const record = this.#fresh(key);
    for (const uid of uids) record.deletions.add(uid);
  }

  /** An informer saw a child of `key` appear, or a create failed and will not appear. */
  creationObserved(key: string): void {
    const record = this.#records.get(key);
    if (record && record.creations > 0) record.creations--;
  }

  /** An informer saw this child go (or start going), or its delete failed. */
  deletionObserved(key: string, uid: string): void {
    this.#records.get(key)?.deletions.delete(uid);
  }

  /** The owner is gone: forget it. */
  delete(key: string): void {
    this.#records.delete(key);
  }

  /** What is still outstanding, for logs and tests. */
  pending(key: string): { creations: number; deletions: number } {
    const record = this.#records.get(key);
    return { creations: record?.creations ?? 0, deletions: record?.deletions.size ?? 0 };
  }

  #fresh(key: string): Record {
    let record = this.#records.get(key);
    // An expired or fulfilled record starts over rather than adding to leftovers.
    if (!record || this.satisfied(key)) {
      record = { creations: 0, deletions: new Set(), setAt: this.#now() };
      this.#records.set(key, record);
    }
    record.setAt = this.#now();
    return record;
  }
}
