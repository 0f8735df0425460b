// What every way of calling a function through the gateway shares, whatever
// the request looked like (function URL, Invoke API) or whether it came from
// the event queue: admission against the function's gateway limits before a
// byte of the body is read, and one invocation counted as in flight (the
// autoscaler's demand) and in the metrics while it runs.
import type { InvokeResponse } from '../proto/sandbox-host.ts';
import { overloaded, rateLimited } from './errors.ts';
import type { EndpointPool, FunctionEntry } from './function-table.ts';
import type { Invocation, Invoker } from './invoker.ts';
import type { GatewayMetrics } from './metrics.ts';

/** Throws the 429 for a function over its rate or concurrency limit. */
export function admit(fn: FunctionEntry): void {
  const waitMs = fn.rateLimit?.take() ?? 0;
  if (waitMs > 0) throw rateLimited(fn.namespace, fn.name, Math.max(1, Math.ceil(waitMs / 1000)));
  // Requests still sending their bodies count too: a slow upload holds its place.
  if (
    fn.settings.maxConcurrency !== undefined &&
    fn.concurrency.inFlight + fn.reading >= fn.settings.maxConcurrency
  ) {
    throw overloaded(
      `Function ${fn.key} is at its gateway concurrency limit of ${fn.settings.maxConcurrency}`,
    );
  }
}

/** Invokes the function, counted as in flight while it runs. */
export async function invokeCounted(
  context: { invoker: Invoker; metrics: GatewayMetrics },
  fn: FunctionEntry,
  invocation: Invocation,
  /** The revision drawn for it (traffic.ts); by default any ready Sandbox. */
  pool?: EndpointPool,
): Promise<InvokeResponse & { revision?: number }> {
  fn.concurrency.start();
  const metrics = context.metrics.forFunction(fn);
  metrics.inflight.inc();
  try {
    return await context.invoker.invoke(fn, invocation, pool);
  } finally {
    fn.concurrency.finish();
    metrics.inflight.dec();
  }
}
