// Real host pods for end-to-end tests: Pod objects in the test's namespace,
// each with a real sidecar process, played by the testenv kubelet.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HostPodKubelet, type HostPodSpec } from '../../testenv/host-pods.ts';
import { SandboxHostConnection } from '../../sidecar/client.ts';
import { kubeconfigPath } from './cluster.ts';

export interface TestHosts {
  kubelet: HostPodKubelet;
  /** Where each host pod's sidecar keeps its data: <dir>/<namespace>-<pod>. */
  dir: string;
  token: string;
  add(
    spec: Omit<HostPodSpec, 'namespace'> & { namespace?: string },
  ): ReturnType<HostPodKubelet['addHostPod']>;
  connect(address: string, token?: string): SandboxHostConnection;
  stop(): Promise<void>;
}

export async function startTestHosts(
  namespace: string,
  kubeconfig = kubeconfigPath(),
): Promise<TestHosts> {
  const dir = mkdtempSync(join(tmpdir(), 'roost-hosts-'));
  // Function processes run under user ids of their own and pass through here
  // to their slots: passable, not listable (mkdtemp makes it 0700).
  chmodSync(dir, 0o711);
  // roost dev keeps its hosts' data under .roost/ in this project, whose
  // package.json says "type": "module". Tests put the same trap above every
  // host, so a function's module type can only come from its own code.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const token = randomBytes(16).toString('hex');
  const kubelet = new HostPodKubelet({
    kubeconfigPath: kubeconfig,
    token,
    dir,
    // A node and an address block of its own, so that test files running side
    // by side never run each other's pods or share an IP.
    nodeName: `node-${namespace}`,
    addressBlock: 'random',
    env: { ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'warn' },
  });
  await kubelet.start();
  const connections: SandboxHostConnection[] = [];
  return {
    kubelet,
    dir,
    token,
    add: (spec) => kubelet.addHostPod({ namespace, ...spec }),
    connect(address, withToken = token) {
      const connection = new SandboxHostConnection(address, withToken);
      connections.push(connection);
      return connection;
    },
    async stop() {
      for (const connection of connections) connection.close();
      await kubelet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
