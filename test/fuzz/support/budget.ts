// How long each fuzz target runs, and how a failure is reported and replayed.
// fast-check draws inputs until the target's time is up (no fixed count), so
// `npm run test:fuzz` is bounded in time in CI and goes deeper when given
// longer: ROOST_FUZZ_SECONDS=600 npm run test:fuzz. A failure prints the
// seed and the shrunk counterexample; ROOST_FUZZ_SEED=<seed> replays it. A
// counterexample that was a real bug becomes a plain regression test beside
// the code it broke.
import fc from 'fast-check';

const SECONDS = Number(process.env.ROOST_FUZZ_SECONDS ?? 12);
const SEED =
  process.env.ROOST_FUZZ_SEED === undefined ? undefined : Number(process.env.ROOST_FUZZ_SEED);

/** Runs the property for the time budget (a share of it with `share`); throws fast-check's report on a counterexample. */
export async function fuzz<Ts>(
  target: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  options: { share?: number } = {},
): Promise<void> {
  const seconds = SECONDS * (options.share ?? 1);
  const seed = SEED ?? Date.now() ^ (Math.random() * 0x100000000);
  const started = performance.now();
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    seed,
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: seconds * 1000,
    // Inputs that shrink for long are still reported within a bounded time.
    skipAllAfterTimeLimit: seconds * 1000 * 3,
  });
  const elapsed = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`fuzz ${target}: ${details.numRuns} inputs in ${elapsed} s (seed ${seed})`);
  if (details.failed) {
    const cause = details.errorInstance;
    const why = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    throw new Error(`fuzz ${target}: ${fc.defaultReportMessage(details)}\n${why}`, { cause });
  }
}

/** What a target may throw: its module's own error with a stable code, and for client input never a 5xx. */
export function expectOwnError(
  err: unknown,
  allowed: { class: new (...args: never[]) => Error; codes: readonly string[]; maxStatus?: number },
): void {
  if (!(err instanceof allowed.class))
    throw new Error(`threw ${describe(err)}, not a ${allowed.class.name}`, { cause: err });
  const { code, status } = err as Error & { code?: string; status?: number };
  if (!allowed.codes.includes(code ?? ''))
    throw new Error(`threw code ${code}, not one of ${allowed.codes.join(', ')}: ${err.message}`);
  if (allowed.maxStatus !== undefined && (status ?? 0) > allowed.maxStatus)
    throw new Error(`answered ${status} (over ${allowed.maxStatus}): ${err.message}`);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
}
