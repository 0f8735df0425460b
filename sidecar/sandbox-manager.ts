// The kubelet loop of a host pod: it watches the Sandboxes bound to this pod
// and makes each one true. Plug: fetch the code, start the function, report
// status (one write on the happy path). Unplug on deletion: stop routing,
// drain, stop, drop the code, remove the finalizer. Between the two it reports
// what the function does (restarts, hibernation) and hibernates idle ones.
import { Sandboxes } from '../kube/api/resources.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { cacheKey, type KubeClient } from '../kube/client.ts';
import { runWorkers } from '../kube/controller.ts';
import { isNotFound } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import { Informer } from '../kube/informer.ts';
import { DEPLOYMENT_LABEL, SIDECAR_FINALIZER, TEMPLATE_HASH_LABEL } from '../kube/well-known.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { startEarly } from '../lib/started-early.ts';
import type { CodeCache } from './code/code-cache.ts';
import { PlugError } from './errors.ts';
import type { RuntimeHooks } from './function-runtime.ts';
import type { LogStore } from './log-store.ts';
import { PluggedSandbox, type SandboxIdentity } from './plugged-sandbox.ts';
import type { RuntimeFactory } from './runtime-factory.ts';
import { desiredStatus, statusFingerprint, type HostAddress, type PlugFailure } from './status.ts';
import { FUNCTION_DEFAULTS, SANDBOX_DEFAULTS } from '../kube/api/defaults.ts';

export interface SandboxManagerOptions {
  client: KubeClient;
  host: HostAddress;
  codeCache: CodeCache;
  createRuntime: RuntimeFactory;
  logs: LogStore;
  events: EventRecorder;
  log: Logger;
  /** Idle time after which a Sandbox's process is stopped (default 5 minutes); 0 never. */
  hibernateAfterMs: number;
  workers?: number;
  /**
   * The namespaces this host pod takes Sandboxes from (its pod's
   * roost.dev/allowed-namespaces, read at start). The scheduler keeps to it;
   * the sidecar checks again, because a Sandbox can name a pod in
   * spec.podName itself, and Java functions of one pod share a JVM.
   */
  allowedNamespaces?: '*' | string[];
}

interface Failed {
  uid: string;
  generation: number;
  failure: PlugFailure;
}

export class SandboxManager {
  readonly #options: SandboxManagerOptions;
  readonly #informer: Informer<Sandbox>;
  readonly #queue = new WorkQueue<string>({ baseDelayMs: 500, maxDelayMs: 5 * 60_000 });
  readonly #plugged = new Map<string, PluggedSandbox>();
  readonly #failed = new Map<string, Failed>();
  /** Fingerprint of the status last written per Sandbox uid. */
  readonly #written = new Map<string, string>();
  #workers: Promise<void> | undefined;
  #ticker: NodeJS.Timeout | undefined;

  constructor(options: SandboxManagerOptions) {
    this.#options = options;
    this.#informer = new Informer(options.client, Sandboxes, {
      fieldSelector: `spec.podName=${options.host.podName}`,
      log: options.log,
    });
    const enqueue = (sandbox: Sandbox) => this.#queue.add(cacheKey(sandbox));
    this.#informer.addHandlers({
      onAdd: enqueue,
      onUpdate: (_, sandbox) => enqueue(sandbox),
      onDelete: enqueue,
    });
  }

  async start(): Promise<void> {
    await this.#informer.start();
    this.#workers = runWorkers({
      queue: this.#queue,
      reconcile: (key) => this.#reconcile(key),
      workers: this.#options.workers ?? 8,
      log: this.#options.log,
    });
    this.#ticker = setInterval(() => void this.#hibernateIdle(), 1000);
    this.#ticker.unref();
  }

  /** The plugged Sandbox that serves namespace/name, if any. */
  get(namespace: string, name: string): PluggedSandbox | undefined {
    return this.#plugged.get(`${namespace}/${name}`);
  }

  list(): PluggedSandbox[] {
    return [...this.#plugged.values()];
  }

  /** Stops every function (the pod is going away); finalizers stay for the host lifecycle controller. */
  /**
   * Every plugged Sandbox takes no new invocation (the gateway retries one
   * refused this way on another Sandbox) and finishes those in flight, for
   * at most `graceMs`: how a host pod going away fails no request.
   */
  async drainAll(graceMs: number): Promise<void> {
    await Promise.all(this.list().map((plugged) => plugged.drain(graceMs)));
  }

  async stop(): Promise<void> {
    clearInterval(this.#ticker);
    this.#queue.shutDown();
    await this.#informer.stop();
    await this.#workers;
    await Promise.all(this.list().map((p) => p.runtime.stop()));
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const sandbox = this.#informer.store.get(key);
    let plugged = this.#plugged.get(key);
    if (plugged && (!sandbox || plugged.identity.uid !== sandbox.metadata.uid)) {
      // Force-deleted, or deleted and created again under the same name.
      await this.#unplug(plugged, 0);
      plugged = undefined;
    }
    if (!sandbox) return;
    if (sandbox.metadata.deletionTimestamp) return this.#teardown(sandbox, plugged);
    if (plugged && plugged.identity.generation !== sandbox.metadata.generation) {
      // The spec was edited in place (the API allows it): plug it again.
      await this.#unplug(plugged, 0);
      plugged = undefined;
    }
    if (plugged) return this.#writeStatus(sandbox, { plugged });

    const failed = this.#failed.get(key);
    if (
      failed &&
      failed.uid === sandbox.metadata.uid &&
      failed.generation === sandbox.metadata.generation
    ) {
      return this.#writeStatus(sandbox, { failure: failed.failure });
    }
    return this.#plug(sandbox);
  }

  async #plug(sandbox: Sandbox): Promise<{ requeueAfterMs?: number } | void> {
    const key = cacheKey(sandbox);
    const started = performance.now();
    // Added while the code downloads; its failure is handled from now on, not
    // only once awaited below, or a refused patch would end the sidecar.
    const finalizer = startEarly(this.#ensureFinalizer(sandbox));
    let codeFetched = false;
    try {
      this.#checkNamespaceAllowed(sandbox);
      const code = await this.#options.codeCache.acquire(sandbox);
      codeFetched = true;
      const identity = identityOf(sandbox);
      const hooks: RuntimeHooks = {
        onChange: () => this.#queue.add(key),
        onLog: (line) =>
          this.#options.logs.append({
            ...line,
            namespace: identity.namespace,
            sandbox: identity.name,
            deployment: identity.deployment,
          }),
      };
      let runtime;
      try {
        runtime = this.#options.createRuntime(sandbox, identity, code, hooks);
        await runtime.start();
      } catch (err) {
        this.#options.codeCache.release(identity.uid, code.digest);
        throw err;
      }
      const plugged = new PluggedSandbox({
        identity,
        runtime,
        code,
        concurrency: sandbox.spec.function.concurrency ?? FUNCTION_DEFAULTS.concurrency,
        timeoutMs:
          (sandbox.spec.function.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds) * 1000,
        startTime: sandbox.status?.startTime ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      this.#plugged.set(key, plugged);
      this.#failed.delete(key);
      await finalizer.result();
      await this.#writeStatus(sandbox, { plugged });
      this.#options.events.normal(
        sandbox,
        'Plugged',
        `Plugged into host pod ${this.#options.host.podName} in ${Math.round(performance.now() - started)} ms`,
      );
    } catch (err) {
      await finalizer.result().catch(() => undefined);
      const plugError =
        err instanceof PlugError
          ? err
          : new PlugError('PlugFailed', `Sandbox ${key}: ${errorMessage(err)}`, {
              retryable: true,
              cause: err,
            });
      const failure: PlugFailure = {
        reason: plugError.reason,
        message: plugError.message,
        codeReady: codeFetched,
      };
      this.#options.log.warn(
        { sandbox: key, reason: failure.reason, err: failure.message },
        'cannot plug Sandbox',
      );
      this.#options.events.warning(sandbox, failure.reason, failure.message);
      await this.#writeStatus(sandbox, { failure });
      if (plugError.retryable) throw plugError;
      this.#failed.set(key, {
        uid: sandbox.metadata.uid!,
        generation: sandbox.metadata.generation ?? 0,
        failure,
      });
    }
  }

  #checkNamespaceAllowed(sandbox: Sandbox): void {
    const allowed = this.#options.allowedNamespaces ?? '*';
    const namespace = sandbox.metadata.namespace!;
    if (allowed === '*' || allowed.includes(namespace)) return;
    throw new PlugError(
      'NamespaceNotAllowed',
      `Sandbox ${cacheKey(sandbox)}: host pod ${this.#options.host.podName} takes Sandboxes of ${allowed.join(', ')} only (its roost.dev/allowed-namespaces); leave spec.podName to the scheduler`,
      { retryable: false },
    );
  }

  /** Deletion requested: report Terminating, drain, unplug, and let the deletion finish. */
  async #teardown(sandbox: Sandbox, plugged: PluggedSandbox | undefined): Promise<void> {
    if (plugged && !plugged.draining) {
      await this.#writeStatus(sandbox, { plugged, terminating: true }).catch(() => undefined);
      await this.#unplug(
        plugged,
        (sandbox.spec.terminationGracePeriodSeconds ??
          SANDBOX_DEFAULTS.terminationGracePeriodSeconds) * 1000,
      );
      this.#options.events.normal(
        sandbox,
        'Unplugged',
        `Unplugged from host pod ${this.#options.host.podName}`,
      );
    }
    this.#failed.delete(cacheKey(sandbox));
    await this.#removeFinalizer(sandbox);
  }

  async #unplug(plugged: PluggedSandbox, graceMs: number): Promise<void> {
    await plugged.drain(graceMs);
    await plugged.runtime.stop();
    this.#plugged.delete(plugged.key);
    this.#written.delete(plugged.identity.uid);
    this.#options.codeCache.release(plugged.identity.uid, plugged.code.digest);
    this.#options.logs.close(plugged.identity.namespace, plugged.identity.name);
  }

  async #writeStatus(sandbox: Sandbox, state: Parameters<typeof desiredStatus>[2]): Promise<void> {
    const status = desiredStatus(sandbox, this.#options.host, state);
    const fingerprint = statusFingerprint(status);
    const uid = sandbox.metadata.uid!;
    if (this.#written.get(uid) === fingerprint) return;
    try {
      await this.#options.client.applyStatus(
        Sandboxes,
        { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name! },
        status,
        { fieldManager: 'roost-sidecar' },
      );
      this.#written.set(uid, fingerprint);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async #ensureFinalizer(sandbox: Sandbox): Promise<void> {
    const finalizers = sandbox.metadata.finalizers ?? [];
    if (finalizers.includes(SIDECAR_FINALIZER)) return;
    const patch =
      finalizers.length === 0
        ? [{ op: 'add', path: '/metadata/finalizers', value: [SIDECAR_FINALIZER] }]
        : [{ op: 'add', path: '/metadata/finalizers/-', value: SIDECAR_FINALIZER }];
    await this.#options.client.patch(
      Sandboxes,
      { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name! },
      [{ op: 'test', path: '/metadata/uid', value: sandbox.metadata.uid }, ...patch],
      { patchType: 'json' },
    );
  }

  async #removeFinalizer(sandbox: Sandbox): Promise<void> {
    const index = (sandbox.metadata.finalizers ?? []).indexOf(SIDECAR_FINALIZER);
    if (index < 0) return;
    try {
      await this.#options.client.patch(
        Sandboxes,
        { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name! },
        [
          { op: 'test', path: `/metadata/finalizers/${index}`, value: SIDECAR_FINALIZER },
          { op: 'remove', path: `/metadata/finalizers/${index}` },
        ],
        { patchType: 'json' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async #hibernateIdle(): Promise<void> {
    const after = this.#options.hibernateAfterMs;
    if (after <= 0) return;
    for (const plugged of this.#plugged.values()) {
      if (plugged.draining || plugged.idleForMs < after || !plugged.runtime.hibernate) continue;
      if (await plugged.runtime.hibernate()) {
        this.#options.log.info({ sandbox: plugged.key }, 'hibernated idle Sandbox');
      }
    }
  }
}

function identityOf(sandbox: Sandbox): SandboxIdentity {
  const labels = sandbox.metadata.labels ?? {};
  return {
    namespace: sandbox.metadata.namespace!,
    name: sandbox.metadata.name!,
    uid: sandbox.metadata.uid!,
    generation: sandbox.metadata.generation ?? 0,
    deployment: labels[DEPLOYMENT_LABEL] ?? sandbox.metadata.name!,
    revision: labels[TEMPLATE_HASH_LABEL] ?? String(sandbox.metadata.generation ?? 1),
    runtime: sandbox.spec.function.runtime,
  };
}
