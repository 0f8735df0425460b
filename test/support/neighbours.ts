// A neighbour that keeps calling while a test makes trouble next door: it
// invokes a Sandbox every 20 ms and keeps every failure, so a test can show
// that the trouble stayed where it was.
import type { InvokeResponse } from '../../proto/sandbox-host.ts';
import type { SandboxHostConnection } from '../../sidecar/client.ts';
import { json } from './sandboxes.ts';

export interface Neighbour {
  /** Stops (after at least `minCalls`), and returns the calls made and what failed. */
  stop(minCalls?: number): Promise<{ calls: number; failures: string[] }>;
}

/**
 * Invokes `sandbox` with `event(n)` until stopped; `check` says what is wrong
 * with an answer (undefined: nothing).
 */
export function keepInvoking(
  sidecar: SandboxHostConnection,
  target: { namespace: string; sandbox: string },
  event: (n: number) => unknown,
  check: (response: InvokeResponse, n: number) => string | undefined,
): Neighbour {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const n = ++calls;
      try {
        const response = await sidecar.invoke({
          ...target,
          requestId: `${target.sandbox}-${n}`,
          payload: json(event(n)),
        });
        const wrong = check(response, n);
        if (wrong) failures.push(`${target.sandbox} call ${n}: ${wrong}`);
      } catch (err) {
        failures.push(`${target.sandbox} call ${n}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop(minCalls = 20) {
      while (calls < minCalls) await new Promise((r) => setTimeout(r, 20));
      running = false;
      await loop;
      return { calls, failures };
    },
  };
}
