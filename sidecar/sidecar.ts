// A host pod's sidecar, assembled: it learns its pod, publishes what the pod
// can hold, plugs the Sandboxes bound to it, serves them over gRPC, and renews
// its heartbeat. stop() undoes all of it in the reverse order.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../kube/api/core.ts';
import { Pods } from '../kube/api/resources.ts';
import type { Runtime } from '../kube/api/roost.ts';
import { KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { sleep } from '../lib/duration.ts';
import { RoostError, errorMessage } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { discoverCapacity, type Capacity, type CapacityOverrides } from './capacity.ts';
import { CodeCache } from './code/code-cache.ts';
import { SidecarGrpcServer } from './grpc-server.ts';
import { HostRegistration } from './host-registration.ts';
import { SharedBridge } from './java/shared-bridge.ts';
import { LogStore } from './log-store.ts';
import { WarmPool } from './node/process-pool.ts';
import { Isolation, type IsolationMode } from './node/isolation.ts';
import { RUNTIME_DIR } from './node/runtime-process.ts';
import type { UidRange } from './node/uid-allocator.ts';
import { TmpWatch } from './node/tmp-watch.ts';
import { UsageSampler } from './node/usage-sampler.ts';
import { allowedNamespaces } from '../scheduler/host.ts';
import { createRuntimeFactory } from './runtime-factory.ts';
import { SandboxManager } from './sandbox-manager.ts';
import { watchSidecar } from './metrics.ts';

export interface SidecarConfig {
  podName: string;
  podNamespace: string;
  podIP: string;
  /**
   * Where gRPC listens (default podIP). In a real pod, 0.0.0.0: the pod's
   * network namespace is its own, and `kubectl port-forward` (how the CLI
   * reaches a sidecar from outside) connects to the pod's loopback.
   */
  listenAddress?: string;
  /** gRPC port on podIP (7070 in a real pod; 0 picks a free one). */
  port: number;
  /** Without one: the usual places (KUBECONFIG, in-cluster). */
  kubeconfig?: string;
  /** The invoke token every gRPC call must carry. */
  token: string;
  /** Code cache, function slots and logs. */
  dataDir: string;
  runtimes: Runtime[];
  /** Idle processes kept per memory size (default 2; 0 disables the warm pool). */
  warmPoolSize: number;
  /** Idle time before a Node function's process is stopped (default 5 min; 0 never). */
  hibernateAfterMs: number;
  /** Memory a Node.js process may use beyond memoryMiB before it is OOMKilled (default 64). */
  nodeOverheadMiB: number;
  /** -Xmx of the JVM bridge, in MiB (default: the JVM's own choice, a quarter of the memory it sees). */
  javaMaxHeapMiB?: number;
  /**
   * A directory shared with a JVM bridge that runs as a container of its own
   * (bridge.sock, bridge.secret): dial it instead of starting the JVM here.
   */
  javaBridgeDir?: string;
  /** How long code that no Sandbox uses stays on disk (default 30 s). */
  keepUnusedCodeMs?: number;
  capacity: CapacityOverrides;
  leaseRenewMs?: number;
  /** A user id per Node.js function process: "auto" (when the sidecar can) or "off" (default auto). */
  functionUids?: IsolationMode;
  /** A cgroup per Node.js function process: "auto" (where one can be made) or "off" (default auto). */
  cgroups?: IsolationMode;
  functionUidRange?: UidRange;
  /** Machine-wide claims of function user ids (default /run/roost/uids). */
  uidClaimsDir?: string;
  /** Size of a Node.js function's temporary directory, in MiB (default 512, as Lambda's /tmp). */
  functionTmpMiB?: number;
  /**
   * On stop, how long to keep serving after the pod says it is not ready,
   * so that gateways take its Sandboxes out of their endpoints before any
   * is refused (default 0; the chart sets it).
   */
  drainDelayMs?: number;
  /** Then how long in-flight invocations may finish (default 10 s). */
  drainGraceMs?: number;
}

export interface RunningSidecar {
  port: number;
  capacity: Capacity;
  manager: SandboxManager;
  stop(): Promise<void>;
}

export class SidecarStartError extends RoostError {
  constructor(message: string, cause?: unknown) {
    super('ROOST_SIDECAR_START', message, { cause });
  }
}

export async function startSidecar(config: SidecarConfig): Promise<RunningSidecar> {
  const log = createLogger('sidecar', { pod: `${config.podNamespace}/${config.podName}` });
  const client = KubeClient.load(config.kubeconfig, { fieldManager: 'roost-sidecar' });
  let pod: Pod;
  try {
    pod = await client.get(Pods, { namespace: config.podNamespace, name: config.podName });
  } catch (err) {
    throw new SidecarStartError(
      `Cannot start the sidecar: cannot read its pod ${config.podNamespace}/${config.podName}: ${errorMessage(err)}`,
      err,
    );
  }
  // The JVM bridge starts now, beside the rest of start-up, and not at the first
  // Java plug: its few hundred milliseconds of JVM start would otherwise land
  // on the first Java Sandbox of the pod.
  if (config.javaBridgeDir) shareWithBridgeContainer(config.javaBridgeDir, log);
  const javaBridge = config.runtimes.includes('java')
    ? SharedBridge.start({
        log: log.child({ component: 'java-bridge' }),
        bridge: { maxHeapMiB: config.javaMaxHeapMiB },
        container: config.javaBridgeDir
          ? {
              socketPath: join(config.javaBridgeDir, 'bridge.sock'),
              secretFile: join(config.javaBridgeDir, 'bridge.secret'),
            }
          : undefined,
      })
    : undefined;
  // Its failure is awaited below; should start-up fail before that, the JVM
  // still ends with this process (it watches its parent).
  javaBridge?.catch(() => undefined);
  const capacity = await discoverCapacity(pod, config.capacity);
  mkdirSync(config.dataDir, { recursive: true });
  // The shared code cache and the logs are the sidecar's alone: a function
  // reads its own private copy of its code, never the cache. A bridge
  // container reads Java functions' jars from the cache through the pod's
  // shared group, which function processes are outside of.
  for (const own of ['code', 'logs']) {
    mkdirSync(join(config.dataDir, own), { recursive: true });
    chmodSync(join(config.dataDir, own), own === 'code' && config.javaBridgeDir ? 0o750 : 0o700);
  }
  const tmpLimitBytes = (config.functionTmpMiB ?? 512) * 1024 * 1024;
  const isolation = Isolation.setUp({
    uids: config.functionUids ?? 'auto',
    cgroups: config.cgroups ?? 'auto',
    uidRange: config.functionUidRange,
    uidClaimsDir: config.uidClaimsDir,
    fileSizeBytes: tmpLimitBytes,
    dataDir: config.dataDir,
    slotsDir: join(config.dataDir, 'slots'),
    runtimeDir: RUNTIME_DIR,
    nodeBinary: process.execPath,
    log,
  });

  const events = new EventRecorder({
    client,
    component: 'roost-sidecar',
    host: config.podName,
    log,
  });
  const logs = new LogStore({ dir: join(config.dataDir, 'logs') });
  const codeCache = new CodeCache({
    dir: join(config.dataDir, 'code'),
    client,
    keepUnusedMs: config.keepUnusedCodeMs,
  });
  const pool = new WarmPool({
    dir: join(config.dataDir, 'slots'),
    size: config.runtimes.includes('nodejs') ? config.warmPoolSize : 0,
    isolation,
    overheadMiB: config.nodeOverheadMiB,
    log,
  });
  const sampler = new UsageSampler({ log, intervalMs: isolation.usageIntervalMs });
  const tmpWatch = new TmpWatch({ log });
  await codeCache.warmUp();
  let bridge: SharedBridge | undefined;
  try {
    bridge = await javaBridge;
  } catch (err) {
    throw new SidecarStartError(
      `Cannot start the sidecar, which offers java (leave java out of --runtimes to run without it): ${errorMessage(err)}`,
      err,
    );
  }

  const grpc = new SidecarGrpcServer({
    logs,
    token: config.token,
    podName: config.podName,
    runtimes: config.runtimes,
    sampleUsage: () => sampler.sampleNow(),
    javaBridgeStats: async () => {
      if (!bridge) return undefined;
      const stats = await bridge.client.stats({ deadlineMs: 2000 });
      return {
        heapUsedBytes: stats.heapUsedBytes,
        heapMaxBytes: stats.heapMaxBytes,
        metaspaceUsedBytes: stats.metaspaceUsedBytes,
        loadedSandboxes: stats.loadedSandboxes,
      };
    },
    log,
  });
  const port = await grpc.listen(config.listenAddress ?? config.podIP, config.port);
  const manager = new SandboxManager({
    client,
    host: { podName: config.podName, podIP: config.podIP, address: `${config.podIP}:${port}` },
    codeCache,
    createRuntime: createRuntimeFactory({
      runtimes: config.runtimes,
      pool,
      sampler,
      tmpWatch,
      tmpLimitBytes,
      nodeOverheadMiB: config.nodeOverheadMiB,
      javaBridge: bridge,
      log,
    }),
    logs,
    events,
    log,
    hibernateAfterMs: config.hibernateAfterMs,
    allowedNamespaces: allowedNamespaces(pod),
  });
  grpc.attach(manager);
  const host = new HostRegistration({
    client,
    pod,
    capacity,
    runtimes: config.runtimes,
    isolation: isolation.report,
    port,
    renewIntervalMs: config.leaseRenewMs,
    log,
  });

  watchSidecar({
    sandboxes: () => {
      const byRuntime: Record<string, number> = {};
      for (const plugged of manager.list())
        byRuntime[plugged.identity.runtime] = (byRuntime[plugged.identity.runtime] ?? 0) + 1;
      return byRuntime;
    },
    warmPool: () => Object.values(pool.idleCounts).reduce((sum, n) => sum + n, 0),
    bridgeHeapBytes: bridge
      ? async () => (await bridge.client.stats({ deadlineMs: 2000 })).heapUsedBytes
      : undefined,
  });

  await manager.start();
  await host.register();
  await host.setReady(true, `serving ${config.runtimes.join(', ')} on ${config.podIP}:${port}`);
  log.info({ port, capacity }, 'sidecar ready');

  return {
    port,
    capacity,
    manager,
    async stop() {
      host.stop();
      await host.setReady(false, 'the sidecar is stopping').catch(() => undefined);
      // As a gateway drains behind a Service: serve on while the news that
      // this pod is going reaches every gateway, then refuse new invocations
      // (retried elsewhere) and let those in flight finish.
      if (config.drainDelayMs) await sleep(config.drainDelayMs);
      await manager.drainAll(config.drainGraceMs ?? 10_000);
      await grpc.close();
      await manager.stop();
      // After the manager: stopping it unloads every Java Sandbox from the bridge.
      await bridge?.stop();
      await pool.close();
      sampler.close();
      tmpWatch.close();
      await codeCache.close();
      logs.closeAll();
      await events.flush();
      client.close();
    },
  };
}

/**
 * The directory shared with the bridge container, for the sidecar and the
 * bridge alone: a volume Kubernetes makes is open to all (0777), and a
 * function that could replace the socket there would be handed the secret
 * with the sidecar's next call. Owner and the pod's shared group only.
 */
function shareWithBridgeContainer(dir: string, log: Logger): void {
  try {
    chmodSync(dir, 0o2770);
  } catch (err) {
    log.warn(
      { dir, err: errorMessage(err) },
      'cannot close the directory shared with the java bridge container to functions; only the pod group should use it',
    );
  }
}
