// A real kubelet for one node, with its containerd as the container runtime.
// Several run on this machine, so everything a kubelet would put in a fixed
// place (root dir, certificates, pod logs, ports) is given a place of its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { freePort } from '../../lib/ports.ts';
import { CLUSTER_DOMAIN, DNS_ADDRESS, type NodeNetwork } from './network.ts';

export interface KubeletOptions {
  binary: string;
  nodeName: string;
  dir: string;
  network: NodeNetwork;
  /** unix:// path of this node's containerd. */
  containerdSocket: string;
  /** A kubeconfig for system:node:<nodeName>. */
  kubeconfig: string;
  /** The CA that signed the API server's client certificate. */
  clientCaFile: string;
  /** Capacity the node reports, so that many nodes on one machine do not each claim all of it. */
  maxPods?: number;
}

export interface Kubelet {
  readonly process: ManagedProcess;
  readonly port: number;
  readonly rootDir: string;
}

export async function startKubelet(options: KubeletOptions): Promise<Kubelet> {
  const { dir, network } = options;
  const rootDir = join(dir, 'kubelet');
  mkdirSync(rootDir, { recursive: true });
  mkdirSync(join(dir, 'pod-logs'), { recursive: true });
  const port = await freePort(network.address);
  const healthzPort = await freePort('127.0.0.1');
  // Pods resolve through CoreDNS; the kubelet reads upstream servers from
  // here, and this cluster has none (no traffic leaves the machine).
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${DNS_ADDRESS}\n`);
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: network.address,
    port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort,
    // Only the API server (its client certificate) or a token the API server
    // vouches for may exec, read logs or port-forward; never anonymous.
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: options.clientCaFile },
    },
    authorization: { mode: 'Webhook' },
    clusterDNS: [DNS_ADDRESS],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: join(dir, 'resolv.conf'),
    podLogsDir: join(dir, 'pod-logs'),
    // What worked on this kind of machine (cgroup v1, no systemd): see
    // ../shared/notes/real-node.md.
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    // Several nodes share one disk and one memory: evict only when truly short.
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    maxPods: options.maxPods ?? 110,
    serializeImagePulls: false,
    // Status and pod changes reach the API server without waiting on long defaults.
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    fileCheckFrequency: '5s',
    shutdownGracePeriod: '0s',
  };
  writeFileSync(join(dir, 'kubelet.yaml'), stringify(config));
  const child = startProcess({
    name: `kubelet ${options.nodeName}`,
    command: options.binary,
    args: [
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${options.kubeconfig}`,
      `--root-dir=${rootDir}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--hostname-override=${options.nodeName}`,
      `--node-ip=${network.address}`,
      `--container-runtime-endpoint=unix://${options.containerdSocket}`,
      `--node-labels=roost.dev/test-node=${options.nodeName}`,
      '--v=1',
    ],
    env: { ...process.env, ROOST_EXIT_WITH_PARENT: '1' },
    logFile: join(dir, 'kubelet.log'),
    // The cluster's folder goes when a start fails; the error keeps the last lines.
    keepStderrLines: 15,
  });
  return { process: child, port, rootDir };
}
