/**
 * Runs `fn` `count` times in batches of 1, 2, 4, ... (as Kubernetes'
 * slowStartBatch): a create that fails for a reason that will fail them all
 * (quota, a bad template, an admission webhook) fails once, not `count`
 * times, while creates that succeed quickly reach full parallelism.
 * Stops after the first batch with an error; returns how many succeeded and
 * how many were never tried.
 */
export async function slowStartBatch(
  count: number,
  fn: (index: number) => Promise<void>,
  initialBatch = 1,
): Promise<{ succeeded: number; skipped: number; error?: unknown }> {
  let succeeded = 0;
  let started = 0;
  for (let batch = Math.min(initialBatch, count); started < count;) {
    const results = await Promise.allSettled(
      Array.from({ length: batch }, (_, i) => fn(started + i)),
    );
    started += batch;
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    succeeded += batch - failed.length;
    if (failed.length > 0) return { succeeded, skipped: count - started, error: failed[0]!.reason };
    batch = Math.min(batch * 2, count - started);
  }
  return { succeeded, skipped: 0 };
}
