// `npm run cluster`: the real control plane in the foreground, for people.
// It writes .roost/kubeconfig, prints a line with "ready", and stops cleanly
// on Ctrl-C or SIGTERM.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startControlPlane } from './control-plane.ts';
import { acquireInstanceLock, AlreadyRunningError } from '../lib/instance-lock.ts';
import { onShutdown } from '../lib/shutdown.ts';
import { formatDuration } from '../lib/duration.ts';

const stateDir = join(process.cwd(), '.roost');
const kubeconfig = join(stateDir, 'kubeconfig');
const started = Date.now();

let release: () => void;
try {
  release = acquireInstanceLock(join(stateDir, 'cluster.lock'), 'the local cluster');
} catch (err) {
  if (err instanceof AlreadyRunningError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

mkdirSync(stateDir, { recursive: true });
const controlPlane = await startControlPlane({ progress: (line) => console.log(line) });
copyFileSync(controlPlane.kubeconfigPath, kubeconfig);

onShutdown(async (signal) => {
  console.log(`${signal}: stopping the control plane`);
  await controlPlane.stop();
  rmSync(kubeconfig, { force: true });
  release();
  console.log('stopped');
});

console.log(`
Kubernetes ${controlPlane.binaries.kubernetesVersion} is ready in ${formatDuration(Date.now() - started)} (API server ${controlPlane.server}).
Try:
  export KUBECONFIG=${relative(process.cwd(), kubeconfig)}
  kubectl get roost -A
  kubectl apply -f examples/hello/deployment.yaml
Press Ctrl-C to stop.`);
