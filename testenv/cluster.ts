// `npm run cluster`: a real cluster in the foreground, for people. Without
// --nodes (or with --nodes 0) only the control plane, with played nodes in
// mind; with --nodes N, N real nodes (kubelet and containerd each) with
// kube-scheduler, kube-proxy and CoreDNS. It writes .roost/kubeconfig, prints
// a line with "ready", and stops cleanly on Ctrl-C or SIGTERM, removing
// everything it made.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from './control-plane.ts';
import { startRealCluster } from './nodes/cluster.ts';
import { acquireInstanceLock } from '../lib/instance-lock.ts';
import { RoostError } from '../lib/errors.ts';
import { onShutdown } from '../lib/shutdown.ts';
import { formatDuration } from '../lib/duration.ts';

const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(`Usage: npm run cluster [-- --nodes N]

  --nodes N   start N real nodes (kubelet + containerd each), kube-scheduler,
              kube-proxy and CoreDNS; needs root and \`npm run setup:node\`.
              0 (the default) starts the control plane alone.`);
  process.exit(0);
}
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 0) {
  console.error(`--nodes must be a whole number from 0, not "${values.nodes}"`);
  process.exit(2);
}

const stateDir = join(process.cwd(), '.roost');
const kubeconfig = join(stateDir, 'kubeconfig');
const started = Date.now();

try {
  const release = acquireInstanceLock(join(stateDir, 'cluster.lock'), 'the local cluster');
  mkdirSync(stateDir, { recursive: true });
  const progress = (line: string) => console.log(line);
  const cluster =
    nodes > 0
      ? await startRealCluster({ nodes, dir: join(stateDir, 'cluster'), progress })
      : undefined;
  const controlPlane = cluster?.controlPlane ?? (await startControlPlane({ progress }));
  copyFileSync(controlPlane.kubeconfigPath, kubeconfig);
  // `npm run images` loads images into these nodes' containerd.
  const clusterFile = join(stateDir, 'cluster.json');
  if (cluster)
    writeFileSync(
      clusterFile,
      JSON.stringify({
        nodes: cluster.nodes.map((n) => ({
          name: n.name,
          address: n.network.address,
          containerdSocket: n.containerd.socket,
        })),
      }),
    );

  onShutdown(async (signal) => {
    console.log(`${signal}: stopping the cluster`);
    if (cluster) {
      await cluster.stop();
      rmSync(join(stateDir, 'cluster'), { recursive: true, force: true });
    } else await controlPlane.stop();
    rmSync(kubeconfig, { force: true });
    rmSync(clusterFile, { force: true });
    release();
    console.log('stopped');
  });

  const what = cluster ? `${nodes} real node${nodes === 1 ? '' : 's'}` : 'the control plane';
  console.log(`
Kubernetes ${controlPlane.binaries.kubernetesVersion} with ${what} is ready in ${formatDuration(Date.now() - started)} (API server ${controlPlane.server}).
Try:
  export KUBECONFIG=${relative(process.cwd(), kubeconfig)}
  ${cluster ? 'kubectl get nodes -o wide' : 'kubectl get roost -A'}
  kubectl apply -f examples/hello/deployment.yaml
Press Ctrl-C to stop.`);
} catch (err) {
  if (!(err instanceof RoostError)) throw err;
  console.error(err.message);
  process.exit(1);
}
