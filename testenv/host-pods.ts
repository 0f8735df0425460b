// Plays the kubelet for host pods on a machine without one, as kwok does for
// fake nodes. It watches host pods (label roost.dev/host=true) bound to its
// node(s) — spec.nodeName equal to its node name or starting with it — and
// runs each one's sidecar as a local process on a loopback address of its own
// (127.0.0.2, 127.0.0.3, ...), with the pod's container args as the sidecar's
// flags; it writes the pod's status, mirrors the readiness gate into Ready,
// and when a host pod is deleted it stops that sidecar, gracefully, or at once
// for `kubectl delete --force --grace-period=0`, then removes the pod as a
// kubelet does. Pods made with `kubectl apply` are run just like its own.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../kube/api/core.ts';
import { Pods } from '../kube/api/resources.ts';
import type { Runtime } from '../kube/api/roost.ts';
import { cacheKey, KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { Informer } from '../kube/informer.ts';
import {
  ALLOWED_NAMESPACES_ANNOTATION,
  HOST_LABEL,
  HOST_READY_CONDITION,
} from '../kube/well-known.ts';
import { RoostError, errorMessage } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { freePort } from '../lib/ports.ts';
import { startProcess, type Exit, type ManagedProcess } from '../lib/process.ts';
import { Supervisor } from '../lib/supervisor.ts';

const ROOST_CLI = join(import.meta.dirname, '..', 'cli', 'roost.ts');

export interface HostPodSpec {
  name: string;
  namespace: string;
  /** Pod memory limit, which the sidecar offers to Sandboxes (default 2048). */
  memoryMiB?: number;
  /** Pod CPU limit (default 2000). */
  cpuMillis?: number;
  maxSandboxes?: number;
  runtimes?: Runtime[];
  /** The tenancy annotation: "*" or "a,b"; without it, only the pod's own namespace. */
  allowedNamespaces?: string;
  /** spec.nodeName; must be served by this kubelet (default: its node name). */
  nodeName?: string;
  /** More `roost sidecar` flags, such as --hibernate-after=2s. */
  sidecarArgs?: string[];
  /**
   * Never (the default here): a sidecar that dies leaves its pod Failed and its
   * Sandboxes move. Always: it is restarted in place, as roost dev's are.
   */
  restartPolicy?: 'Always' | 'Never';
}

export interface HostPod {
  name: string;
  namespace: string;
  ip: string;
  port: number;
  address: string;
  /** The sidecar's process; a new one after a restart. */
  process: ManagedProcess;
  /** Its /metrics (the invoke token required), once it has said where. */
  metricsUrl?: string;
}

/** Where each sidecar process said its /metrics are (its output line, read as it starts). */
const metricsUrls = new WeakMap<ManagedProcess, string>();

/** What starting a pod's sidecar again needs. */
interface Launch {
  pod: Pod;
  key: string;
  ip: string;
  port: number;
  dataDir: string;
}

/** Whether a dead sidecar is started again: restartPolicy Always or OnFailure (Never leaves the pod Failed). */
function restarts(pod: Pod): boolean {
  return pod.spec.restartPolicy === 'Always' || pod.spec.restartPolicy === 'OnFailure';
}

export interface HostPodKubeletOptions {
  kubeconfigPath: string;
  /** The invoke token sidecars require. */
  token: string;
  /** Sidecar data and logs go under here, one directory per pod. */
  dir: string;
  /** The node this kubelet plays; it runs host pods whose nodeName is this or starts with it (default "roost-local"). */
  nodeName?: string;
  log?: Logger;
  /** Environment added to every sidecar (such as ROOST_LOG_LEVEL). */
  env?: Record<string, string>;
  /** Called when a host pod's sidecar has started serving, restarted or gone. */
  onChange?: () => void;
  /** A sidecar died and is being restarted, or was: one line for people. */
  onSidecarRestart?: (message: string) => void;
  /**
   * Where pod IPs come from: "first" gives 127.0.0.2, 127.0.0.3, ... (the default);
   * tests running side by side each take a random block so that no two
   * kubelets hand out the same address.
   */
  addressBlock?: 'first' | 'random';
}

export class HostPodStartError extends RoostError {
  constructor(message: string) {
    super('ROOST_HOST_POD_START', message);
  }
}

/**
 * Hands out loopback addresses: 127.<a>.<b>.2, .3, ... .254, then the next
 * <b>. Every 127.0.0.0/8 address reaches this machine, so each host pod gets
 * an IP of its own, as in a cluster.
 */
class LoopbackAddresses {
  #next = 0;
  readonly #a: number;
  readonly #b: number;

  constructor(a: number, b: number) {
    this.#a = a;
    this.#b = b;
  }

  next(): string {
    const n = this.#next++;
    return `127.${this.#a}.${(this.#b + Math.floor(n / 253)) % 256}.${(n % 253) + 2}`;
  }
}

interface Starting {
  promise: Promise<HostPod>;
  resolve: (pod: HostPod) => void;
  reject: (err: Error) => void;
}

export class HostPodKubelet {
  readonly nodeName: string;
  readonly #options: HostPodKubeletOptions;
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #pods = new Map<string, HostPod>();
  /** addHostPod callers waiting for a pod to serve. */
  readonly #starting = new Map<string, Starting>();
  /** Pods whose sidecar is being started now. */
  readonly #launching = new Set<string>();
  readonly #stopping = new Map<string, Promise<void>>();
  /** Sidecars of pods with restartPolicy Always, kept running. */
  readonly #supervisors = new Map<string, Supervisor<ManagedProcess>>();
  readonly #informer: Informer<Pod>;
  readonly #addresses: LoopbackAddresses;
  #stopped = false;

  constructor(options: HostPodKubeletOptions) {
    this.#options = options;
    this.nodeName = options.nodeName ?? 'roost-local';
    this.#addresses =
      options.addressBlock === 'random'
        ? new LoopbackAddresses(
            1 + Math.floor(Math.random() * 254),
            Math.floor(Math.random() * 256),
          )
        : new LoopbackAddresses(0, 0);
    this.#client = KubeClient.load(options.kubeconfigPath, { fieldManager: 'roost-kubelet' });
    this.#log = options.log ?? createLogger('kubelet');
    this.#informer = new Informer(this.#client, Pods, {
      labelSelector: `${HOST_LABEL}=true`,
      log: this.#log,
    });
    this.#informer.addHandlers({
      onAdd: (pod) => this.#sync(pod),
      onUpdate: (_, pod) => this.#sync(pod),
      onDelete: (pod) => this.#onPodGone(pod),
    });
  }

  async start(): Promise<void> {
    await this.#informer.start();
  }

  list(): HostPod[] {
    return [...this.#pods.values()];
  }

  get(namespace: string, name: string): HostPod | undefined {
    return this.#pods.get(`${namespace}/${name}`);
  }

  /** Creates a host Pod on this kubelet's node and resolves once its sidecar serves. */
  async addHostPod(spec: HostPodSpec): Promise<HostPod> {
    const key = `${spec.namespace}/${spec.name}`;
    const starting = this.#expect(key);
    const runtimes = spec.runtimes ?? ['nodejs'];
    await this.#client.create(Pods, {
      metadata: {
        name: spec.name,
        namespace: spec.namespace,
        labels: { [HOST_LABEL]: 'true', 'app.kubernetes.io/name': 'roost-host' },
        annotations: spec.allowedNamespaces
          ? { [ALLOWED_NAMESPACES_ANNOTATION]: spec.allowedNamespaces }
          : {},
      },
      spec: hostPodSpec({ ...spec, runtimes, nodeName: spec.nodeName ?? this.nodeName }),
    });
    return starting.promise;
  }

  /** Stops every sidecar this kubelet runs; the Pod objects stay. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer.stop();
    await Promise.all([...this.#pods.values()].map((pod) => this.#stopSidecar(pod, 10_000)));
    await Promise.all(this.#stopping.values());
    this.#pods.clear();
    this.#client.close();
  }

  #serves(pod: Pod): boolean {
    return (pod.spec.nodeName ?? '').startsWith(this.nodeName);
  }

  #expect(key: string): Starting {
    let starting = this.#starting.get(key);
    if (!starting) {
      let resolve!: (pod: HostPod) => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<HostPod>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined);
      starting = { promise, resolve, reject };
      this.#starting.set(key, starting);
    }
    return starting;
  }

  #sync(pod: Pod): void {
    if (this.#stopped || !this.#serves(pod)) return;
    const key = cacheKey(pod);
    const running = this.#pods.get(key);
    if (pod.metadata.deletionTimestamp) {
      if (running)
        this.#stop(
          key,
          running,
          (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000,
          pod.metadata.uid,
        );
      return;
    }
    if (running) {
      this.#mirrorReadiness(pod);
      return;
    }
    // A pod whose sidecar died stays Failed, as a pod with restartPolicy Never:
    // its Sandboxes move to other pods instead of waiting here.
    if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') return;
    if (this.#stopping.has(key) || this.#launching.has(key)) return;
    this.#launching.add(key);
    this.#run(pod)
      .then(
        (hostPod) => this.#expect(key).resolve(hostPod),
        (err: Error) => {
          this.#log.error({ pod: key, err: err.message }, 'cannot run host pod');
          this.#expect(key).reject(err);
        },
      )
      .finally(() => {
        this.#launching.delete(key);
        this.#starting.delete(key);
      });
  }

  /** Runs the pod's sidecar and resolves once it serves. */
  async #run(pod: Pod): Promise<HostPod> {
    const { namespace, name } = { namespace: pod.metadata.namespace!, name: pod.metadata.name! };
    const key = `${namespace}/${name}`;
    const ip = this.#addresses.next();
    const port = await freePort(ip);
    const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.#writeStatus(pod, { ip, startedAt, serving: false });
    const dataDir = join(this.#options.dir, `${namespace}-${name}`);
    mkdirSync(dataDir, { recursive: true });
    const launch = { pod, key, ip, port, dataDir };
    // Known before it serves, so that the readiness it reports is mirrored.
    let hostPod: HostPod | undefined;
    let process: ManagedProcess;
    try {
      process = await this.#launch(launch, (child) => {
        hostPod = { name, namespace, ip, port, address: `${ip}:${port}`, process: child };
        this.#pods.set(key, hostPod);
      });
      hostPod!.metricsUrl = metricsUrls.get(process);
      await this.#writeStatus(pod, { ip, startedAt, serving: true });
      this.#options.onChange?.();
    } catch (err) {
      this.#pods.delete(key);
      await this.#client
        .patch(
          Pods,
          { namespace, name },
          { status: { phase: 'Failed', message: (err as Error).message.slice(0, 1000) } },
          { subresource: 'status' },
        )
        .catch(() => undefined);
      throw err;
    }
    const running = hostPod!;
    if (restarts(pod)) this.#supervise(launch, running, startedAt);
    else
      void process.exited.then((exit) => {
        if (this.#stopped || this.#pods.get(key) !== running || this.#stopping.has(key)) return;
        // restartPolicy Never: a sidecar that dies on its own leaves its pod
        // Failed, and its Sandboxes move to other pods.
        this.#pods.delete(key);
        this.#options.onChange?.();
        this.#log.warn({ pod: key, exit }, 'host pod sidecar exited');
        void this.#client
          .patch(
            Pods,
            { namespace, name },
            {
              status: {
                phase: 'Failed',
                message: `the sidecar exited (code ${exit.code}, signal ${exit.signal})`,
              },
            },
            { subresource: 'status' },
          )
          .catch(() => undefined);
      });
    return running;
  }

  /**
   * restartPolicy Always (or OnFailure): as a kubelet restarts a container,
   * a sidecar that dies is started again in the same pod, at the same
   * address, after a back-off, and the pod's status says so (not ready
   * meanwhile, restartCount, the last state).
   */
  #supervise(launch: Launch, hostPod: HostPod, startedAt: string): void {
    const { pod, key, ip } = launch;
    const supervisor = Supervisor.watch(hostPod.process, {
      name: `sidecar ${key}`,
      initialBackoffMs: 1000,
      maxBackoffMs: 30_000,
      healthyRunMs: 60_000,
      start: () => this.#launch(launch),
      onExit: ({ exit, waitMs }) => {
        const message = `the sidecar of host pod ${key} exited (code ${exit.code}, signal ${exit.signal}); restarting it in ${Math.round(waitMs)} ms`;
        this.#log.warn({ pod: key, exit }, 'host pod sidecar exited; restarting');
        this.#options.onSidecarRestart?.(message);
        void this.#writeStatus(pod, {
          ip,
          startedAt,
          serving: false,
          restartCount: supervisor.restarts,
          lastExit: exit,
        }).catch(() => undefined);
      },
      onStartFailed: ({ error, waitMs }) =>
        this.#options.onSidecarRestart?.(
          `the sidecar of host pod ${key} could not be restarted (${errorMessage(error)}); trying again in ${Math.round(waitMs)} ms`,
        ),
      onRestarted: async (process, { restarts, exit }) => {
        hostPod.process = process;
        hostPod.metricsUrl = metricsUrls.get(process);
        this.#options.onSidecarRestart?.(
          `the sidecar of host pod ${key} restarted (pid ${process.pid}, restart ${restarts})`,
        );
        await this.#writeStatus(pod, {
          ip,
          startedAt,
          serving: true,
          restartCount: restarts,
          lastExit: exit,
        }).catch(() => undefined);
        this.#options.onChange?.();
      },
    });
    this.#supervisors.set(key, supervisor);
  }

  /** Starts one sidecar process for the pod and resolves once it serves. */
  async #launch(
    launch: Launch,
    onSpawn?: (process: ManagedProcess) => void,
  ): Promise<ManagedProcess> {
    const { pod, key, ip, port, dataDir } = launch;
    const { namespace, name } = { namespace: pod.metadata.namespace!, name: pod.metadata.name! };
    // The container's args are the sidecar's flags; the kubelet's own come last and win.
    const podArgs = (pod.spec.containers[0]?.args ?? []).filter((arg) => arg !== 'sidecar');
    let ready: () => void = () => {};
    const serving = new Promise<void>((resolve) => (ready = resolve));
    const process = startProcess({
      name: `sidecar ${key}`,
      command: globalThis.process.execPath,
      args: [
        ROOST_CLI,
        'sidecar',
        ...podArgs,
        `--kubeconfig=${this.#options.kubeconfigPath}`,
        `--port=${port}`,
        `--data-dir=${dataDir}`,
        // On the pod's own address, as in a pod; a free port, as several share a machine.
        '--metrics-port=0',
      ],
      env: {
        ...globalThis.process.env,
        ...this.#options.env,
        POD_NAME: name,
        POD_NAMESPACE: namespace,
        POD_IP: ip,
        ROOST_INVOKE_TOKEN: this.#options.token,
        ROOST_EXIT_WITH_PARENT: '1',
      },
      logFile: join(dataDir, 'sidecar.log'),
      keepStderrLines: 20,
      onLine: (line) => {
        if (line.startsWith('roost sidecar ready')) ready();
        const metrics = /^roost sidecar metrics at (\S+)/.exec(line);
        if (metrics) metricsUrls.set(process, metrics[1]!);
      },
    });
    onSpawn?.(process);
    const exited = process.exited.then((exit) => {
      throw new HostPodStartError(
        `The sidecar of host pod ${key} exited (code ${exit.code}, signal ${exit.signal}) before it served:\n${process.stderrTail.join('\n')}`,
      );
    });
    exited.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new HostPodStartError(`The sidecar of host pod ${key} did not serve within 30 s`)),
        30_000,
      );
    });
    try {
      await Promise.race([serving, exited, timeout]);
      return process;
    } catch (err) {
      await process.stop(1000);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The pod's status as a kubelet reports it: Running with its IP, and its one
   * container ready once the sidecar serves (kubectl's READY column). The
   * Ready condition follows later, with the readiness gate.
   */
  async #writeStatus(
    pod: Pod,
    state: {
      ip: string;
      startedAt: string;
      serving: boolean;
      restartCount?: number;
      lastExit?: Exit;
    },
  ): Promise<void> {
    const container = pod.spec.containers[0]!;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.#client.patch(
      Pods,
      { namespace: pod.metadata.namespace, name: pod.metadata.name! },
      {
        status: {
          phase: 'Running',
          podIP: state.ip,
          podIPs: [{ ip: state.ip }],
          hostIP: '127.0.0.1',
          startTime: state.startedAt,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: state.startedAt },
            { type: 'Initialized', status: 'True', lastTransitionTime: state.startedAt },
            {
              type: 'ContainersReady',
              status: state.serving ? 'True' : 'False',
              lastTransitionTime: now,
            },
          ],
          containerStatuses: [
            {
              name: container.name,
              image: container.image,
              imageID: '',
              ready: state.serving,
              started: true,
              restartCount: state.restartCount ?? 0,
              state: { running: { startedAt: state.startedAt } },
              ...(state.lastExit
                ? {
                    lastState: {
                      terminated: {
                        exitCode: state.lastExit.code ?? 137,
                        ...(state.lastExit.signal
                          ? { signal: 0, reason: state.lastExit.signal }
                          : { reason: 'Error' }),
                        finishedAt: now,
                      },
                    },
                  }
                : {}),
            },
          ],
        },
      },
      { patchType: 'strategic', subresource: 'status' },
    );
  }

  /** Removed outright (--force --grace-period=0): kill the sidecar now. */
  #onPodGone(pod: Pod): void {
    const key = cacheKey(pod);
    const running = this.#pods.get(key);
    if (running) this.#stop(key, running, 0, undefined);
  }

  #stop(key: string, pod: HostPod, graceMs: number, uid: string | undefined): void {
    if (this.#stopping.has(key)) return;
    const stopping = (async () => {
      if (graceMs === 0) pod.process.kill('SIGKILL');
      await this.#stopSidecar(pod, graceMs);
      this.#pods.delete(key);
      this.#options.onChange?.();
      if (uid) {
        await this.#client
          .delete(
            Pods,
            { namespace: pod.namespace, name: pod.name },
            { gracePeriodSeconds: 0, preconditions: { uid } },
          )
          .catch((err: unknown) => {
            if (!isNotFound(err))
              this.#log.warn(
                { pod: key, err: errorMessage(err) },
                'cannot remove the deleted host pod',
              );
          });
      }
      this.#log.info({ pod: key }, 'host pod stopped');
    })().finally(() => this.#stopping.delete(key));
    this.#stopping.set(key, stopping);
  }

  /** Stops a pod's sidecar for good: no restart follows. */
  async #stopSidecar(pod: HostPod, graceMs: number): Promise<void> {
    const key = `${pod.namespace}/${pod.name}`;
    const supervisor = this.#supervisors.get(key);
    this.#supervisors.delete(key);
    if (supervisor) await supervisor.stop((process) => process.stop(graceMs));
    else await pod.process.stop(graceMs);
  }

  /** The kubelet's rule: Ready when containers are ready and every readiness gate is True. */
  #mirrorReadiness(pod: Pod): void {
    const conditions = pod.status?.conditions ?? [];
    const gate =
      conditions.find((c) => c.type === HOST_READY_CONDITION)?.status === 'True' &&
      conditions.find((c) => c.type === 'ContainersReady')?.status === 'True';
    const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True';
    if (gate === ready) return;
    const lastTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    void this.#client
      .patch(
        Pods,
        { namespace: pod.metadata.namespace, name: pod.metadata.name! },
        {
          status: {
            conditions: [{ type: 'Ready', status: gate ? 'True' : 'False', lastTransitionTime }],
          },
        },
        { patchType: 'strategic', subresource: 'status' },
      )
      .catch((err: unknown) =>
        this.#log.debug({ err: errorMessage(err) }, 'cannot mirror pod readiness'),
      );
  }
}

/** The spec of a host pod: one container whose args are `roost sidecar` flags, the readiness gate, its limits. */
export function hostPodSpec(
  spec: Omit<HostPodSpec, 'name' | 'namespace' | 'allowedNamespaces'> & { nodeName: string },
): Pod['spec'] {
  const runtimes = spec.runtimes ?? ['nodejs'];
  return {
    nodeName: spec.nodeName,
    readinessGates: [{ conditionType: HOST_READY_CONDITION }],
    restartPolicy: spec.restartPolicy ?? 'Never',
    terminationGracePeriodSeconds: 30,
    containers: [
      {
        name: 'sidecar',
        image: 'roost:dev',
        args: [
          'sidecar',
          `--runtimes=${runtimes.join(',')}`,
          ...(spec.maxSandboxes ? [`--max-sandboxes=${spec.maxSandboxes}`] : []),
          ...(spec.sidecarArgs ?? []),
        ],
        ports: [{ name: 'grpc', containerPort: 7070, protocol: 'TCP' }],
        resources: {
          limits: { memory: `${spec.memoryMiB ?? 2048}Mi`, cpu: `${spec.cpuMillis ?? 2000}m` },
        },
      },
    ],
  };
}
