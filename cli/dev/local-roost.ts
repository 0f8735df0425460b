// A complete Roost on this machine, the way `roost dev` runs it: the real
// control plane, the CRDs, `roost controller`, `roost gateway`, host pods with
// their sidecars (this process plays their kubelet) and the example
// functions. Everything is a real process; stop() leaves none behind.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Namespaces, SandboxDeployments, Secrets } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isAlreadyExists } from '../../kube/errors.ts';
import { INVOKE_TOKEN_KEY, INVOKE_TOKEN_SECRET } from '../../kube/well-known.ts';
import { RoostError, errorMessage } from '../../lib/errors.ts';
import { formatDuration, sleep } from '../../lib/duration.ts';
import { createLogger } from '../../lib/log.ts';
import type { Exit } from '../../lib/process.ts';
import { freePort } from '../../lib/ports.ts';
import { DEFAULT_CONSOLE_PORT } from '../commands/console.ts';
import { startControlPlane, type ControlPlane } from '../../testenv/control-plane.ts';
import { startNats } from '../../testenv/nats.ts';
import { Supervisor } from '../../lib/supervisor.ts';
import { HostPodKubelet, type HostPod } from '../../testenv/host-pods.ts';
import { ensureJavaBuild, javaToolsPresent } from '../../testenv/java-build.ts';
import { ComponentProcess } from './component-process.ts';
import { deployExamples, type DeployedExample } from './examples.ts';
import {
  DEV_ALLOWED_NAMESPACES,
  DEV_NAMESPACE,
  DEV_NODE,
  STATE_DIR,
  type DevState,
} from './state.ts';

export interface LocalRoostOptions {
  cwd: string;
  gatewayPort: number;
  /** The console's port; without one, 8090 if free, else any free port. */
  consolePort?: number;
  hosts: number;
  /** Memory of each host pod, in MiB. */
  hostMemoryMiB: number;
  /** The host pods' roost.dev/allowed-namespaces: "*" or "a,b" (default DEV_ALLOWED_NAMESPACES). */
  allowedNamespaces?: string;
  examples: boolean;
  java: 'auto' | 'on' | 'off';
  progress: (line: string) => void;
  /** Called with the new state when a host pod is added or goes while it runs. */
  onStateChange?: (state: DevState) => void;
}

export interface LocalRoost {
  /** What runs where now (host pods come and go). */
  readonly state: DevState;
  examples: DeployedExample[];
  hostPods: HostPod[];
  stop(): Promise<void>;
}

export async function startLocalRoost(options: LocalRoostOptions): Promise<LocalRoost> {
  const { progress } = options;
  const stateDir = join(options.cwd, STATE_DIR);
  const logDir = join(stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };

  // Until startLocalRoost returns, host pods starting are part of the start.
  let started = false;
  const startedAt = new Date().toISOString();
  try {
    const java = await javaAvailable(options.java, progress);

    let step = Date.now();
    // Nothing works without these, and nothing else would say so (the
    // gateway stays ready on its cache, kubectl just hangs): say it at once.
    const controlPlaneExits = new Map<string, Exit>();
    const controlPlane: ControlPlane = await startControlPlane({
      progress: (line) => progress(`  ${line}`),
      onExit: (name, exit) => {
        controlPlaneExits.set(name, exit);
        progress(
          `! ${name} exited (code ${exit.code}, signal ${exit.signal}): the cluster cannot work without it; stop roost dev (Ctrl-C) and start it again (log: ${relative(options.cwd, join(controlPlane.dir, 'logs', `${name}.log`))})`,
        );
        if (started) options.onStateChange?.(currentState());
      },
    });
    stops.push(() => controlPlane.stop());
    const kubeconfig = join(stateDir, 'kubeconfig');
    copyFileSync(controlPlane.kubeconfigPath, kubeconfig);
    progress(
      `✓ control plane: Kubernetes ${controlPlane.binaries.kubernetesVersion} at ${controlPlane.server} (${formatDuration(Date.now() - step)})`,
    );

    const client = controlPlane.client().withFieldManager('roost-dev');
    stops.push(async () => client.close());
    const token = await createInvokeToken(client);

    step = Date.now();
    // A fresh store each start: a dev cluster's etcd is new each time, and
    // events for functions of an earlier one would only end as dead letters.
    const natsStore = join(stateDir, 'nats');
    rmSync(natsStore, { recursive: true, force: true });
    // Kept running as the other components are, on the same port and store:
    // the gateways and the controller reconnect, and accepted events are kept.
    const natsPort = await freePort('127.0.0.1');
    const natsLog = join(logDir, 'nats.log');
    const natsLogShown = relative(options.cwd, natsLog);
    const nats = await Supervisor.start({
      name: 'nats-server',
      start: () =>
        startNats({
          storeDir: natsStore,
          // Functions can open connections: the queue takes only holders of the invoke token.
          token,
          port: natsPort,
          logFile: natsLog,
          progress: (line) => progress(`  ${line}`),
        }),
      onExit: ({ exit, waitMs }) =>
        progress(
          `! nats-server exited (code ${exit.code}, signal ${exit.signal}); restarting in ${Math.round(waitMs)} ms (log: ${natsLogShown})`,
        ),
      onStartFailed: ({ error, waitMs }) =>
        progress(
          `! nats-server could not be restarted (${errorMessage(error)}); trying again in ${Math.round(waitMs)} ms`,
        ),
      onRestarted: (run, { restarts }) => {
        progress(`! nats-server restarted (pid ${run.pid}, restart ${restarts})`);
        if (started) options.onStateChange?.(currentState());
      },
    });
    stops.push(() => nats.stop((run) => run.stop()));
    const natsUrl = nats.current.url;
    progress(
      `✓ event queue: NATS JetStream at ${natsUrl} (pid ${nats.current.pid}; log ${natsLogShown}) (${formatDuration(Date.now() - step)})`,
    );

    step = Date.now();
    const componentEnv = {
      ROOST_INVOKE_TOKEN: token,
      ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'info',
    };
    const onRestart = (message: string) => progress(`! ${message}`);
    // A restarted component has a new pid: dev.json must say so.
    const onRestarted = () => {
      if (started) options.onStateChange?.(currentState());
    };
    const controller = new ComponentProcess({
      name: 'roost controller',
      args: [
        'controller',
        `--kubeconfig=${kubeconfig}`,
        `--lease-namespace=${DEV_NAMESPACE}`,
        '--metrics-host=127.0.0.1',
        '--metrics-port=0',
        `--events-url=${natsUrl}`,
      ],
      env: componentEnv,
      logFile: join(logDir, 'controller.log'),
      ready: /roost controller leading/,
      metrics: /roost controller metrics at (\S+)/,
      onRestart,
      onRestarted,
    });
    stops.push(() => controller.stop());
    await controller.start();
    progress(
      `✓ roost controller (pid ${controller.pid}, leader; log ${relative(options.cwd, join(logDir, 'controller.log'))})`,
    );

    const gateway = new ComponentProcess({
      name: 'roost gateway',
      args: [
        'gateway',
        '--host=127.0.0.1',
        `--port=${options.gatewayPort}`,
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${DEV_NAMESPACE}`,
        `--events-url=${natsUrl}`,
      ],
      env: componentEnv,
      logFile: join(logDir, 'gateway.log'),
      ready: /roost gateway ready on (\S+)/,
      onRestart,
      onRestarted,
    });
    stops.push(() => gateway.stop());
    const gatewayUrl = await gateway.start().catch((err: Error) => {
      throw /EADDRINUSE/.test(err.message)
        ? new RoostError(
            'ROOST_DEV_PORT_IN_USE',
            `Cannot start the gateway: port ${options.gatewayPort} is in use; choose another with --port`,
          )
        : err;
    });
    progress(`✓ roost gateway at ${gatewayUrl} (pid ${gateway.pid})`);

    // Queue triggers' consumers: one replica here; a cluster runs two.
    const triggers = new ComponentProcess({
      name: 'roost triggers',
      args: [
        'triggers',
        `--kubeconfig=${kubeconfig}`,
        `--lease-namespace=${DEV_NAMESPACE}`,
        `--gateway-url=${gatewayUrl}`,
        `--events-url=${natsUrl}`,
        '--metrics-host=127.0.0.1',
        '--metrics-port=0',
      ],
      env: componentEnv,
      logFile: join(logDir, 'triggers.log'),
      ready: /roost triggers ready/,
      metrics: /roost triggers metrics at (\S+)/,
      onRestart,
      onRestarted,
    });
    stops.push(() => triggers.stop());
    await triggers.start();
    progress(
      `✓ roost triggers (pid ${triggers.pid}; log ${relative(options.cwd, join(logDir, 'triggers.log'))})`,
    );

    const loginKey = randomBytes(24).toString('base64url');
    const consolePort = options.consolePort ?? (await freePort('127.0.0.1', DEFAULT_CONSOLE_PORT));
    const consoleProcess = new ComponentProcess({
      name: 'roost console',
      args: [
        'console',
        '--host=127.0.0.1',
        `--port=${consolePort}`,
        `--kubeconfig=${kubeconfig}`,
        `--system-namespace=${DEV_NAMESPACE}`,
      ],
      env: { ...componentEnv, ROOST_CONSOLE_LOGIN_KEY: loginKey },
      logFile: join(logDir, 'console.log'),
      ready: /roost console ready on (\S+)/,
      onRestart,
    });
    stops.push(() => consoleProcess.stop());
    const consoleUrl = await consoleProcess.start();
    progress(`✓ roost console at ${consoleUrl} (pid ${consoleProcess.pid})`);

    step = Date.now();
    const kubelet = new HostPodKubelet({
      kubeconfigPath: kubeconfig,
      token,
      dir: join(stateDir, 'hosts'),
      nodeName: DEV_NODE,
      env: { ROOST_LOG_LEVEL: componentEnv.ROOST_LOG_LEVEL },
      log: createLogger('kubelet'),
      // As a kubelet restarts a container, and says so.
      onSidecarRestart: (message) => progress(`! ${message}`),
      onChange: () => {
        if (started) options.onStateChange?.(currentState());
      },
    });
    stops.push(() => kubelet.stop());
    await kubelet.start();
    const runtimes = java ? (['nodejs', 'java'] as const) : (['nodejs'] as const);
    const hostPods = await Promise.all(
      Array.from({ length: options.hosts }, (_, i) =>
        kubelet.addHostPod({
          name: `host-${i + 1}`,
          namespace: DEV_NAMESPACE,
          memoryMiB: options.hostMemoryMiB,
          runtimes: [...runtimes],
          allowedNamespaces: options.allowedNamespaces ?? DEV_ALLOWED_NAMESPACES,
          restartPolicy: 'Always',
        }),
      ),
    );
    progress(
      `✓ ${hostPods.length} host pods (${runtimes.join(', ')}): ${hostPods.map((p) => `${p.name} ${p.address}`).join(', ')} (${formatDuration(Date.now() - step)})`,
    );

    let examples: DeployedExample[] = [];
    if (options.examples) {
      step = Date.now();
      await ensureNamespace(client, 'default');
      examples = await deployExamples(client, { namespace: 'default', java });
      await waitForExamples(client, gatewayUrl, examples);
      progress(
        `✓ examples: ${examples.map((e) => `${e.namespace}/${e.name} (${e.runtime})`).join(', ')} (${formatDuration(Date.now() - step)})`,
      );
    }

    const currentState = (): DevState => ({
      kubeconfig: relative(options.cwd, kubeconfig),
      gateway: { url: gatewayUrl, pid: gateway.pid },
      console: { url: consoleUrl, pid: consoleProcess.pid, loginKey },
      token,
      components: [
        ...(
          [
            ['kube-apiserver', controlPlane.server],
            ['etcd', controlPlane.etcdUrl],
            ['kube-controller-manager', ''],
          ] as const
        ).map(([name, address]) => {
          const exit = controlPlaneExits.get(name);
          return {
            name,
            pid: controlPlane.pids[name],
            address,
            ...(exit ? { exited: `code ${exit.code}, signal ${exit.signal}` } : {}),
          };
        }),
        {
          name: 'roost controller',
          pid: controller.pid,
          address: '',
          metrics: controller.metricsUrl,
        },
        {
          name: 'roost gateway',
          pid: gateway.pid,
          address: gatewayUrl,
          metrics: `${gatewayUrl}/metrics`,
        },
        {
          name: 'roost triggers',
          pid: triggers.pid,
          address: '',
          metrics: triggers.metricsUrl,
        },
        { name: 'nats-server', pid: nats.current.pid, address: natsUrl },
        { name: 'roost console', pid: consoleProcess.pid, address: consoleUrl },
        ...kubelet.list().map((pod) => ({
          name: `sidecar ${pod.namespace}/${pod.name}`,
          pid: pod.process.pid,
          address: pod.address,
          metrics: pod.metricsUrl,
        })),
      ],
      hosts: {
        runtimes: [...runtimes],
        memoryMiB: options.hostMemoryMiB,
        allowedNamespaces: options.allowedNamespaces ?? DEV_ALLOWED_NAMESPACES,
      },
      startedAt,
    });
    started = true;
    return {
      get state() {
        return currentState();
      },
      examples,
      hostPods,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function javaAvailable(
  mode: LocalRoostOptions['java'],
  progress: (line: string) => void,
): Promise<boolean> {
  if (mode === 'off') return false;
  const tools = javaToolsPresent();
  if (!tools.java) {
    if (mode === 'on')
      throw new RoostError('ROOST_DEV_NO_JAVA', 'Cannot offer the java runtime: no `java` on PATH');
    progress('  (no `java` on PATH: host pods offer nodejs only)');
    return false;
  }
  const built = await ensureJavaBuild((line) => progress(`  ${line}`));
  if (!built && mode === 'on')
    throw new RoostError(
      'ROOST_DEV_NO_JAVA',
      'Cannot offer the java runtime: the JVM bridge is not built and Maven is missing',
    );
  return built;
}

/** The token gateways present to sidecars, in the Secret a real installation keeps it in. */
async function createInvokeToken(client: KubeClient): Promise<string> {
  await ensureNamespace(client, DEV_NAMESPACE);
  const token = randomBytes(24).toString('hex');
  await client.create(Secrets, {
    metadata: { name: INVOKE_TOKEN_SECRET, namespace: DEV_NAMESPACE },
    type: 'Opaque',
    stringData: { [INVOKE_TOKEN_KEY]: token },
  });
  return token;
}

async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(Namespaces, { metadata: { name } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** Until every example is available and answers through the gateway. */
async function waitForExamples(
  client: KubeClient,
  gatewayUrl: string,
  examples: DeployedExample[],
): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (const example of examples) {
    let last: string;
    for (;;) {
      try {
        const deployment = await client.get(SandboxDeployments, {
          namespace: example.namespace,
          name: example.name,
        });
        const available =
          (deployment.status?.availableReplicas ?? 0) >= Math.min(1, deployment.spec.replicas ?? 1);
        if (available) {
          const response = await fetch(`${gatewayUrl}/fn/${example.namespace}/${example.name}`, {
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          if (response.status < 500) break;
          last = `HTTP ${response.status}`;
        } else {
          last = `${deployment.status?.availableReplicas ?? 0} available`;
        }
      } catch (err) {
        last = errorMessage(err);
      }
      if (Date.now() > deadline)
        throw new RoostError(
          'ROOST_DEV_EXAMPLES',
          `Example ${example.namespace}/${example.name} did not become ready in 2 minutes (${last})`,
        );
      await sleep(200);
    }
  }
}
