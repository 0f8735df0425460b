// The cluster-wide parts a real cluster runs beside its nodes: kube-scheduler
// places Pods, kube-proxy programs Services into nftables, and CoreDNS answers
// for Service names. All three run as processes on this machine, which is
// what every node's network namespace is here (one host, several kubelets).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { freePort } from '../../lib/ports.ts';
import { CLUSTER_DOMAIN, DNS_ADDRESS, TEST_RANGE } from './network.ts';

const execFileAsync = promisify(execFile);
const EXIT_WITH_PARENT = { ...process.env, ROOST_EXIT_WITH_PARENT: '1' };

export function startKubeScheduler(options: {
  binary: string;
  dir: string;
  kubeconfig: string;
}): ManagedProcess {
  return startProcess({
    name: 'kube-scheduler',
    command: options.binary,
    args: [
      `--kubeconfig=${options.kubeconfig}`,
      `--authentication-kubeconfig=${options.kubeconfig}`,
      `--authorization-kubeconfig=${options.kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--v=0',
    ],
    env: EXIT_WITH_PARENT,
    logFile: join(options.dir, 'kube-scheduler.log'),
  });
}

/** The nftables table kube-proxy keeps its rules in (its own, so removing it removes them all). */
export const KUBE_PROXY_TABLE = 'kube-proxy';

export async function startKubeProxy(options: {
  binary: string;
  dir: string;
  kubeconfig: string;
  nodeName: string;
}): Promise<ManagedProcess> {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'nftables',
    clientConnection: { kubeconfig: options.kubeconfig },
    hostnameOverride: options.nodeName,
    clusterCIDR: TEST_RANGE,
    bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${await freePort()}`,
    metricsBindAddress: `127.0.0.1:${await freePort()}`,
    // Leave the machine's conntrack settings as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // Only the test range: NodePorts on the machine's real addresses would
    // expose test pods beyond this machine.
    nodePortAddresses: [TEST_RANGE],
  };
  writeFileSync(join(options.dir, 'kube-proxy.yaml'), stringify(config));
  return startProcess({
    name: 'kube-proxy',
    command: options.binary,
    args: [`--config=${join(options.dir, 'kube-proxy.yaml')}`, '--v=0'],
    env: EXIT_WITH_PARENT,
    logFile: join(options.dir, 'kube-proxy.log'),
  });
}

/** Removes kube-proxy's rules after it has stopped, as `kube-proxy --cleanup` does. */
export async function cleanUpKubeProxy(binary: string | undefined): Promise<void> {
  if (binary)
    await execFileAsync(binary, ['--cleanup', '--proxy-mode=nftables', '--v=0']).catch(() => {});
  for (const family of ['ip', 'ip6']) {
    await execFileAsync('nft', ['delete', 'table', family, KUBE_PROXY_TABLE]).catch(() => {});
  }
}

export function startCoreDns(options: {
  binary: string;
  dir: string;
  kubeconfig: string;
}): ManagedProcess {
  // No `forward`: names outside the cluster do not resolve, because nothing
  // here may reach a resolver beyond this machine.
  writeFileSync(
    join(options.dir, 'Corefile'),
    `.:53 {
    bind ${DNS_ADDRESS}
    errors
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${options.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
    loop
}
`,
  );
  return startProcess({
    name: 'coredns',
    command: options.binary,
    args: ['-conf', join(options.dir, 'Corefile')],
    env: EXIT_WITH_PARENT,
    logFile: join(options.dir, 'coredns.log'),
  });
}
