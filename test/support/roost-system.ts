// The whole of Roost for an end-to-end test, as real processes: host pods with
// their sidecars (played by the testenv kubelet), `roost controller` and
// `roost gateway`, and the event queue (a nats-server of its own), all scoped to the test's namespace so that test files can
// run side by side. stop() ends every process it started.
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import type { HostPod, HostPodSpec } from '../../testenv/host-pods.ts';
import { startNats, type NatsServer } from '../../testenv/nats.ts';
import { kubeconfigPath } from './cluster.ts';
import { startController, type ControllerProcess } from './controller-process.ts';
import { startTestHosts, type TestHosts } from './host-pods.ts';

const ROOST = join(import.meta.dirname, '..', '..', 'cli', 'roost.ts');

export interface RoostSystem {
  namespace: string;
  hosts: TestHosts;
  controller: ControllerProcess;
  gateway: { url: string; process: ManagedProcess };
  /** The event queue the gateway (and the controller's triggers) use. */
  nats: NatsServer;
  /** Starts one more `roost gateway` on the same queue, with these extra flags. */
  startGateway(args?: string[]): Promise<{ url: string; process: ManagedProcess }>;
  /** The gateway URL of a function in the test namespace. */
  functionUrl(name: string, path?: string): string;
  addHost(spec: Omit<HostPodSpec, 'namespace'>): Promise<HostPod>;
  stop(): Promise<void>;
}

export interface RoostSystemOptions {
  namespace: string;
  /** Host pods to start with (default: three of 2 GiB named host-1..3). */
  hosts?: Omit<HostPodSpec, 'namespace'>[];
  /** More `roost gateway` flags, such as --activation-wait=5s. */
  gatewayArgs?: string[];
  /** More `roost controller` flags. */
  controllerArgs?: string[];
  hostGrace?: string;
  /** Another control plane than the shared one (the fault suite runs its own). */
  kubeconfig?: string;
}

export async function startRoostSystem(options: RoostSystemOptions): Promise<RoostSystem> {
  const { namespace } = options;
  const kubeconfig = options.kubeconfig ?? kubeconfigPath();
  const hosts = await startTestHosts(namespace, kubeconfig);
  const started: { stop(): Promise<unknown> }[] = [hosts];
  try {
    const nats = await startNats({ token: hosts.token });
    started.push(nats);
    const specs = options.hosts ?? [1, 2, 3].map((i) => ({ name: `host-${i}` }));
    await Promise.all(
      specs.map((spec) => hosts.add({ ...spec, name: `${namespace}-${spec.name}` })),
    );
    const controller = startController({
      namespace,
      identity: `controller-${namespace}`,
      hostGrace: options.hostGrace,
      extraArgs: [`--events-url=${nats.url}`, ...(options.controllerArgs ?? [])],
      token: hosts.token,
      kubeconfig,
    });
    started.push(controller);
    const gatewayArgs = [`--events-url=${nats.url}`, ...(options.gatewayArgs ?? [])];
    const gateway = await startGateway(namespace, hosts.token, gatewayArgs, kubeconfig);
    started.push(gateway.process);
    return {
      namespace,
      hosts,
      controller,
      gateway,
      nats,
      async startGateway(args = []) {
        const another = await startGateway(namespace, hosts.token, [
          `--events-url=${nats.url}`,
          ...args,
        ]);
        started.push(another.process);
        return another;
      },
      functionUrl: (name, path = '') => `${gateway.url}/fn/${namespace}/${name}${path}`,
      // Host pod names are unique across namespaces, as node names are.
      addHost: (spec) => hosts.add({ ...spec, name: `${namespace}-${spec.name}` }),
      async stop() {
        for (const component of started.reverse()) await component.stop();
      },
    };
  } catch (err) {
    for (const component of started.reverse()) await component.stop();
    throw err;
  }
}

export async function startGateway(
  namespace: string,
  token: string,
  args: string[],
  kubeconfig = kubeconfigPath(),
): Promise<{ url: string; process: ManagedProcess }> {
  let resolveUrl!: (url: string) => void;
  const ready = new Promise<string>((resolve) => (resolveUrl = resolve));
  const process = startProcess({
    name: `roost gateway ${namespace}`,
    command: globalThis.process.execPath,
    args: [
      ROOST,
      'gateway',
      '--host=127.0.0.1',
      '--port=0',
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${namespace}`,
      ...args,
    ],
    env: {
      ...globalThis.process.env,
      ROOST_INVOKE_TOKEN: token,
      ROOST_EXIT_WITH_PARENT: '1',
      ROOST_LOG_LEVEL: globalThis.process.env.ROOST_LOG_LEVEL ?? 'warn',
    },
    keepStderrLines: 30,
    onLine: (line) => {
      const match = /roost gateway ready on (\S+)/.exec(line);
      if (match) resolveUrl(match[1]!);
    },
  });
  const exited = process.exited.then((exit) => {
    throw new Error(
      `roost gateway exited (${exit.code ?? exit.signal}) before it was ready:\n${process.stderrTail.join('\n')}`,
    );
  });
  return { url: await Promise.race([ready, exited]), process };
}
