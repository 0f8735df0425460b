// A promise started now and awaited later, with its rejection handled from
// the moment it is made. Node ends the process on a rejection that has no
// handler when it happens; a write begun early to overlap other work (the
// sidecar adds its finalizer while the code downloads) may fail long before
// anyone awaits it, and must not take the whole process down.

export interface StartedEarly<T> {
  /** Resolves or rejects as the work did; awaiting it more than once is fine. */
  result(): Promise<T>;
}

export function startEarly<T>(work: Promise<T>): StartedEarly<T> {
  const settled = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return {
    async result() {
      const outcome = await settled;
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    },
  };
}
