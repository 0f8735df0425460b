// A cluster in a process of its own, with one pod running, for the test
// that kills it outright: prints "ready <dir>" once the pod runs.
import { execFileSync } from 'node:child_process';
import { startRealCluster } from '../../../testenv/nodes/cluster.ts';
import { PAUSE_IMAGE } from '../../../testenv/nodes/pause-image.ts';

const cluster = await startRealCluster({ nodes: 1 });
const kubectl = (args: string[]) =>
  execFileSync('kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } });
kubectl(['run', 'survivor', `--image=${PAUSE_IMAGE}`, '--image-pull-policy=Never']);
kubectl(['wait', '--for=condition=Ready', 'pod/survivor', '--timeout=60s']);
console.log(`ready ${cluster.dir}`);
setInterval(() => {}, 1 << 30);
