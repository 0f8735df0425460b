// Plug latency as a user would see it: from the moment a Sandbox is bound to
// a host pod (with the scheduler's own bind write) to the moment a watch
// sees its Ready condition True. One watch stamps each Sandbox's first Ready
// on arrival; plugOnce binds one Sandbox, waits for that stamp, and deletes
// it again so the next plug starts from the same state.
import { Sandboxes } from '../../kube/api/resources.ts';
import type { Sandbox } from '../../kube/api/roost.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { bindPatch } from '../../scheduler/bind-patch.ts';

export class ReadyWatch {
  readonly #readyAt = new Map<string, number>();
  readonly #waiting = new Map<string, (at: number) => void>();
  readonly #abort = new AbortController();
  readonly #watching: Promise<void>;

  /**
   * Watches the Sandboxes of `namespace`, also handing each one seen to
   * `onSandbox`; give it a moment to connect before the first plug.
   */
  constructor(client: KubeClient, namespace: string, onSandbox?: (sandbox: Sandbox) => void) {
    this.#watching = client
      .watch(Sandboxes, { namespace, signal: this.#abort.signal }, ({ object }) => {
        onSandbox?.(object);
        const name = object.metadata.name!;
        const ready = object.status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        );
        if (!ready || this.#readyAt.has(name)) return;
        const at = performance.now();
        this.#readyAt.set(name, at);
        this.#waiting.get(name)?.(at);
      })
      .catch(() => undefined);
  }

  /** Resolves with the performance.now() at which the watch saw `name` Ready. */
  ready(name: string, timeoutMs = 30_000): Promise<number> {
    const seen = this.#readyAt.get(name);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Sandbox ${name} was not Ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiting.set(name, (at) => {
        clearTimeout(timer);
        this.#waiting.delete(name);
        resolve(at);
      });
    });
  }

  /** Forgets `name`, so that a Sandbox of the same name can be timed again. */
  forget(name: string): void {
    this.#readyAt.delete(name);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#watching;
  }
}

export interface PlugTime {
  /** From sending the bind to Ready seen by the watch: the plug latency. */
  sinceBind: number;
  /** From the bind's answer (committed by the API server) to Ready seen by the watch. */
  sinceCommit: number;
}

/**
 * Creates `sandbox` unbound, binds it to `podName`, and times it to Ready
 * seen by the watch; then deletes it and waits until it is gone (its
 * finalizer removed by the sidecar).
 */
export async function plugOnce(
  client: KubeClient,
  watch: ReadyWatch,
  sandbox: Sandbox,
  podName: string,
  options: { finalizerInBind?: boolean } = {},
): Promise<PlugTime> {
  const key = { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name! };
  watch.forget(key.name);
  const created = await client.create(Sandboxes, sandbox);
  const ready = watch.ready(key.name);
  const bound = performance.now();
  // Bound as the scheduler binds: the same one write (or, to compare, podName
  // alone, which leaves the finalizer to the sidecar as binding by hand does).
  await client.patch(
    Sandboxes,
    key,
    options.finalizerInBind === false ? { spec: { podName } } : bindPatch(created, podName),
  );
  const committed = performance.now();
  const readyAt = await ready;
  await client.delete(Sandboxes, key);
  await waitGone(client, key);
  return { sinceBind: readyAt - bound, sinceCommit: readyAt - committed };
}

export async function waitGone(
  client: KubeClient,
  key: { namespace?: string; name: string },
): Promise<void> {
  for (;;) {
    try {
      await client.get(Sandboxes, key);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
