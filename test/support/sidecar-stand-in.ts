// A simulated pool of host pods for tests of the scheduler and the
// controllers, in the manner of kwok's fake nodes: it plays the kubelet and
// the sidecar of each host pod through the API only, running no functions, so
// that scheduling, rollouts and host loss can be tested fast and at scales a
// 2-core machine cannot run as processes. It creates each host pod as a real
// Pod object (label, capacity annotations, nodeName), writes its status
// (Running, condition roost.dev/host-ready=True), renews its Lease, and for
// every Sandbox bound to one of its pods does what the sidecar does: add the
// roost.dev/sidecar finalizer, write status by server-side apply as field
// manager roost-sidecar, and on deletion drain briefly and remove the
// finalizer. The same behaviours with real sidecars are tested in
// test/system-*.test.ts.
import { randomBytes } from 'node:crypto';
import type { Lease, Pod } from '../../kube/api/core.ts';
import type { Runtime, Sandbox } from '../../kube/api/roost.ts';
import { Leases, Pods, Sandboxes } from '../../kube/api/resources.ts';
import { cacheKey, keyOf, type KubeClient } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import { Informer } from '../../kube/informer.ts';
import {
  ALLOWED_NAMESPACES_ANNOTATION,
  HOST_LABEL,
  HOST_READY_CONDITION,
  HostAnnotations,
  SIDECAR_FINALIZER,
} from '../../kube/well-known.ts';
import { errorMessage } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';

const SIDECAR_PORT = 50051;
const log = createLogger('sidecar-stand-in');

export interface StandInHost {
  /** Made unique per run: "<prefix>-<random>-<name>". */
  name: string;
  memoryMiB?: number;
  cpuMillis?: number;
  maxSandboxes?: number;
  runtimes?: Runtime[];
  nodeName?: string;
  allowedNamespaces?: string;
}

interface HostState {
  pod: Pod;
  ip: string;
  alive: boolean;
  renew?: NodeJS.Timeout;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const microNow = () => new Date().toISOString().replace('Z', '000Z');

let nextIp = 2;

export class SidecarStandIn {
  readonly namespace: string;
  readonly #client: KubeClient;
  readonly #sidecar: KubeClient;
  readonly #hosts = new Map<string, HostState>();
  readonly #sandboxes: Informer<Sandbox>;
  readonly #pods: Informer<Pod>;
  readonly #suffix = randomBytes(2).toString('hex');
  readonly #renewMs: number;
  readonly #busy = new Set<string>();
  #stopped = false;

  private constructor(client: KubeClient, namespace: string, renewMs: number) {
    this.#client = client;
    this.#sidecar = client.withFieldManager('roost-sidecar');
    this.namespace = namespace;
    this.#renewMs = renewMs;
    this.#sandboxes = new Informer(client, Sandboxes, { log });
    this.#pods = new Informer(client, Pods, {
      namespace,
      labelSelector: `${HOST_LABEL}=true`,
      log,
    });
  }

  /** Starts watching and creates the given host pods, each Ready with a fresh Lease. */
  static async start(options: {
    client: KubeClient;
    namespace: string;
    hosts: StandInHost[];
    /** How often Leases are renewed (default 2 s). */
    renewMs?: number;
  }): Promise<SidecarStandIn> {
    const standIn = new SidecarStandIn(options.client, options.namespace, options.renewMs ?? 2000);
    const react = (s: Sandbox) => void standIn.#onSandbox(s);
    standIn.#sandboxes.addHandlers({ onAdd: react, onUpdate: (_o, s) => react(s) });
    standIn.#pods.addHandlers({ onUpdate: (_o, p) => void standIn.#onPod(p) });
    await Promise.all([standIn.#sandboxes.start(), standIn.#pods.start()]);
    for (const host of options.hosts) await standIn.addHost(host);
    return standIn;
  }

  /** The real pod name of a host given by its short name. */
  podName(short: string): string {
    return `h${this.#suffix}-${short}`;
  }

  get podNames(): string[] {
    return [...this.#hosts.keys()];
  }

  async addHost(host: StandInHost): Promise<string> {
    const name = this.podName(host.name);
    const ip = `127.0.${Math.floor(nextIp / 250)}.${(nextIp % 250) + 2}`;
    nextIp++;
    const annotations: Record<string, string> = {
      [HostAnnotations.capacityMemoryMiB]: String(host.memoryMiB ?? 1024),
      [HostAnnotations.capacityCpuMillis]: String(host.cpuMillis ?? 4000),
      [HostAnnotations.runtimes]: (host.runtimes ?? ['nodejs', 'java']).join(','),
      [HostAnnotations.sidecarPort]: String(SIDECAR_PORT),
    };
    if (host.maxSandboxes !== undefined)
      annotations[HostAnnotations.maxSandboxes] = String(host.maxSandboxes);
    if (host.allowedNamespaces) annotations[ALLOWED_NAMESPACES_ANNOTATION] = host.allowedNamespaces;
    const pod = await this.#client.create(Pods, {
      metadata: { name, namespace: this.namespace, labels: { [HOST_LABEL]: 'true' }, annotations },
      spec: {
        nodeName: host.nodeName ?? `node-${name}`,
        containers: [{ name: 'sidecar', image: 'roost:dev' }],
        readinessGates: [{ conditionType: HOST_READY_CONDITION }],
      },
    });
    const state: HostState = { pod, ip, alive: true };
    this.#hosts.set(name, state);
    await this.#client.create(Leases, {
      metadata: {
        name,
        namespace: this.namespace,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid: pod.metadata.uid! }],
      },
      spec: {
        holderIdentity: name,
        leaseDurationSeconds: 40,
        acquireTime: microNow(),
        renewTime: microNow(),
      },
    });
    await this.#client.patch(
      Pods,
      { namespace: this.namespace, name },
      {
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          conditions: [
            {
              type: HOST_READY_CONDITION,
              status: 'True',
              reason: 'SidecarServing',
              message: 'stand-in',
              lastTransitionTime: now(),
            },
            { type: 'Ready', status: 'True', lastTransitionTime: now() },
          ],
        },
      },
      { patchType: 'strategic', subresource: 'status' },
    );
    state.renew = setInterval(() => void this.#renew(name), this.#renewMs);
    // Sandboxes bound before this host's state existed get their turn now.
    for (const sandbox of this.#sandboxes.store.list()) void this.#onSandbox(sandbox);
    return name;
  }

  /** As SIGKILL of the sidecar: no more Lease renewals, no more status, finalizers stay. */
  kill(podName: string): void {
    const state = this.#hosts.get(podName);
    if (!state) throw new Error(`Cannot kill ${podName}: no such stand-in host`);
    state.alive = false;
    clearInterval(state.renew);
  }

  /** As `kubectl delete pod`: the pod turns Terminating; the stand-in kubelet then removes it. */
  async deleteHost(podName: string): Promise<void> {
    await this.#client.delete(Pods, { namespace: this.namespace, name: podName });
  }

  /** Sandboxes bound to this host now (not being deleted). */
  boundTo(podName: string): Sandbox[] {
    return this.#sandboxes.store
      .list()
      .filter((s) => s.spec.podName === podName && !s.metadata.deletionTimestamp);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const state of this.#hosts.values()) clearInterval(state.renew);
    await Promise.all([this.#sandboxes.stop(), this.#pods.stop()]);
  }

  async #renew(name: string): Promise<void> {
    try {
      await this.#client.patch(
        Leases,
        { namespace: this.namespace, name },
        { spec: { renewTime: microNow() } },
      );
    } catch (err) {
      if (!isNotFound(err)) log.warn({ err: errorMessage(err) }, 'stand-in cannot renew');
    }
  }

  /** The kubelet's part: a deleted pod's sidecar stops, then the pod object goes. */
  async #onPod(pod: Pod): Promise<void> {
    const state = this.#hosts.get(pod.metadata.name!);
    if (!state || !pod.metadata.deletionTimestamp || !state.alive) return;
    this.kill(pod.metadata.name!);
    await new Promise((r) => setTimeout(r, 1000));
    try {
      await this.#client.delete(Pods, keyOf(pod), { gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) log.warn({ err: errorMessage(err) }, 'stand-in cannot remove pod');
    }
  }

  /** The sidecar's part, for Sandboxes bound to a live host of this pool. */
  async #onSandbox(sandbox: Sandbox): Promise<void> {
    const state = sandbox.spec.podName ? this.#hosts.get(sandbox.spec.podName) : undefined;
    if (this.#stopped || !state?.alive) return;
    const key = cacheKey(sandbox);
    if (this.#busy.has(key)) return;
    this.#busy.add(key);
    try {
      const finalizers = sandbox.metadata.finalizers ?? [];
      if (sandbox.metadata.deletionTimestamp) {
        if (!finalizers.includes(SIDECAR_FINALIZER)) return;
        // Drain: a real sidecar lets in-flight invocations finish here.
        await new Promise((r) => setTimeout(r, 300));
        await this.#client.patch(Sandboxes, keyOf(sandbox), {
          metadata: {
            resourceVersion: sandbox.metadata.resourceVersion,
            finalizers: finalizers.filter((f) => f !== SIDECAR_FINALIZER),
          },
        });
        return;
      }
      if (!finalizers.includes(SIDECAR_FINALIZER)) {
        await this.#client.patch(Sandboxes, keyOf(sandbox), {
          metadata: {
            resourceVersion: sandbox.metadata.resourceVersion,
            finalizers: [...finalizers, SIDECAR_FINALIZER],
          },
        });
        return; // The update comes back through the informer.
      }
      const ready = sandbox.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (sandbox.status?.phase === 'Running' && ready) return;
      // A moment for "plugging", so that Ready comes after binding as it will for real.
      await new Promise((r) => setTimeout(r, 100));
      const t = now();
      await this.#sidecar.applyStatus(
        Sandboxes,
        keyOf(sandbox),
        {
          phase: 'Running',
          podName: state.pod.metadata.name,
          podIP: state.ip,
          address: `${state.ip}:${SIDECAR_PORT}`,
          restartCount: 0,
          startTime: t,
          conditions: [
            {
              type: 'Scheduled',
              status: 'True',
              reason: 'Bound',
              message: '',
              lastTransitionTime: t,
            },
            {
              type: 'CodeReady',
              status: 'True',
              reason: 'Fetched',
              message: '',
              lastTransitionTime: t,
            },
            {
              type: 'Ready',
              status: 'True',
              reason: 'Plugged',
              message: '',
              lastTransitionTime: t,
            },
          ],
        },
        { fieldManager: 'roost-sidecar' },
      );
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err))
        log.warn({ err: errorMessage(err) }, 'stand-in sidecar failed');
    } finally {
      this.#busy.delete(key);
      // Whatever arrived while busy: look at the latest version once more.
      const latest = this.#sandboxes.store.get(key);
      if (latest && latest.metadata.resourceVersion !== sandbox.metadata.resourceVersion)
        void this.#onSandbox(latest);
    }
  }
}

export type { Lease };
