// npm run bench:cluster — what real nodes cost here, each beside its baseline
// in the same run:
//   - time to a ready 2-node cluster (cached binaries and images) against the
//     control plane alone (what `npm test` starts);
//   - time from `kubectl apply` of a Pod to Running, with Roost's image and
//     with the pause image (the least a pod can be);
//   - Roost's images built cold (an empty buildah store, npm ci from the
//     registry) and cached (nothing changed), and their sizes;
//   - the memory each node's kubelet and containerd hold at rest.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startControlPlane } from '../testenv/control-plane.ts';
import { startRealCluster, type RealCluster } from '../testenv/nodes/cluster.ts';
import { buildImages, imagesValues, ROOST_IMAGE, type BuiltImage } from '../testenv/images.ts';
import { ensureHelm } from '../testenv/binaries.ts';
import { PAUSE_IMAGE } from '../testenv/nodes/pause-image.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const execFileAsync = promisify(execFile);
const TRIALS = Number(process.env.TRIALS ?? 3);
const PODS = Number(process.env.PODS ?? 15);
const progress = (line: string) => console.error(`  ${line}`);
const REPO = join(import.meta.dirname, '..');

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

console.error('bench:cluster: images, cold then cached');
const coldCache = mkdtempSync(join(tmpdir(), 'roost-bench-cache-'));
const savedCache = process.env.ROOST_CACHE_DIR;
process.env.ROOST_CACHE_DIR = coldCache;
const [, coldBuild] = await timed(() => buildImages({ java: true, progress }));
if (savedCache === undefined) delete process.env.ROOST_CACHE_DIR;
else process.env.ROOST_CACHE_DIR = savedCache;
await execFileAsync('buildah', [
  '--root',
  join(coldCache, 'buildah', 'storage'),
  '--runroot',
  join(coldCache, 'buildah', 'run'),
  'rm',
  '--all',
]).catch(() => {});
await execFileAsync('umount', ['-R', join(coldCache, 'buildah', 'storage', 'overlay')]).catch(
  () => {},
);
rmSync(coldCache, { recursive: true, force: true });
await buildImages({ java: true });
const [images, cachedBuild] = await timed(() => buildImages({ java: true }));

console.error(`bench:cluster: ${TRIALS} starts of the control plane alone and of 2 real nodes`);
const controlPlaneStarts: number[] = [];
const clusterStarts: number[] = [];
for (let i = 0; i < TRIALS; i++) {
  const [plane, planeMs] = await timed(() => startControlPlane());
  controlPlaneStarts.push(planeMs);
  await plane.stop();
  const [cluster, clusterMs] = await timed(() => startRealCluster({ nodes: 2 }));
  clusterStarts.push(clusterMs);
  if (i < TRIALS - 1) await cluster.stop();
  else await measurePods(cluster, images);
}

/**
 * `helm install` of the chart with its default pool, to the first answered
 * invocation of a function applied right after; then each component's
 * memory at rest beside what the chart requests for it.
 */
async function measureInstall(
  cluster: RealCluster,
  built: BuiltImage[],
  kubectl: (args: string[], input?: string) => Promise<unknown>,
): Promise<void> {
  console.error('bench:cluster: helm install to the first answered invocation');
  const helm = await ensureHelm();
  const values = join(cluster.dir, 'images-values.yaml');
  writeFileSync(values, imagesValues(built));
  const started = performance.now();
  await execFileAsync(
    helm,
    [
      'install',
      'roost',
      join(REPO, 'deploy', 'chart', 'roost'),
      '-n',
      'roost-system',
      '--create-namespace',
      '-f',
      values,
      '--wait',
      '--timeout=300s',
    ],
    { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } },
  );
  const installed = performance.now() - started;
  await kubectl(['apply', '-f', join(REPO, 'examples', 'hello', 'deployment.yaml')]);
  const { stdout: ip } = (await kubectl([
    'get',
    'service',
    'roost-gateway',
    '-n',
    'roost-system',
    '-o',
    'jsonpath={.spec.clusterIP}',
  ])) as { stdout: string };
  for (;;) {
    const answered = await fetch(`http://${ip.trim()}/fn/default/hello`, {
      signal: AbortSignal.timeout(5000),
    })
      .then((r) => r.ok)
      .catch(() => false);
    if (answered) break;
    if (performance.now() - started > 300_000)
      throw new Error('no answer within 5 minutes of helm install');
    await new Promise((r) => setTimeout(r, 100));
  }
  const firstAnswer = performance.now() - started;
  await new Promise((r) => setTimeout(r, 10_000));
  const rows = ['controller', 'gateway', 'sidecar'].map((component) => {
    const pids = execFileSync('pgrep', ['-f', `/opt/roost/cli/roost.ts ${component}`], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const rss = pids.map(
      (pid) =>
        Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) /
        1024,
    );
    return [component, String(pids.length), `${median(rss).toFixed(0)} MiB`];
  });
  console.log(
    '\n' +
      table(
        ['helm install (default values, 2 nodes)', 'time'],
        [
          ['to every pod ready (--wait)', ms(installed, 0)],
          ['to the first answered invocation of examples/hello', ms(firstAnswer, 0)],
        ],
      ),
  );
  console.log('\n' + table(['component', 'pods', 'RSS at rest (median)'], rows));
}

async function measurePods(cluster: RealCluster, built: BuiltImage[]): Promise<void> {
  const kubectl = (args: string[], input?: string) => {
    const run = execFileAsync('kubectl', args, {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
    });
    if (input !== undefined) run.child.stdin?.end(input);
    return run;
  };
  try {
    for (const image of built) await cluster.importImage(image.archive);
    console.error(`bench:cluster: ${PODS} pods of each image, apply to Running`);
    const podStart = async (image: string, name: string, command: string[]) => {
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: {
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          containers: [{ name: 'main', image, imagePullPolicy: 'Never', command }],
        },
      });
      const started = performance.now();
      await kubectl(['apply', '-f', '-'], manifest);
      await kubectl([
        'wait',
        '--for=jsonpath={.status.phase}=Running',
        `pod/${name}`,
        '--timeout=60s',
      ]);
      const elapsed = performance.now() - started;
      await kubectl(['delete', 'pod', name, '--wait=false']);
      return elapsed;
    };
    const roostPods: number[] = [];
    const pausePods: number[] = [];
    for (let i = 0; i < PODS; i++) {
      roostPods.push(
        await podStart(ROOST_IMAGE, `bench-roost-${i}`, [
          '/nodejs/bin/node',
          '-e',
          'setInterval(() => {}, 1e9)',
        ]),
      );
      pausePods.push(await podStart(PAUSE_IMAGE, `bench-pause-${i}`, ['/pause']));
    }
    // At rest: a few seconds after the last pod went.
    await new Promise((r) => setTimeout(r, 5000));
    const rss = (pid: number | undefined) => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
    };
    const memoryRows = cluster.nodes.map((node) => [
      node.name,
      `${rss(node.kubelet.process.pid).toFixed(0)} MiB`,
      `${rss(node.containerd.process.pid).toFixed(0)} MiB`,
    ]);

    console.log('\n## Real nodes (`npm run bench:cluster`)\n');
    console.log(
      table(
        ['', 'median', 'p90 / max', 'baseline (median)', 'goal'],
        [
          [
            `ready 2-node cluster (${TRIALS} starts)`,
            ms(median(clusterStarts), 0),
            ms(Math.max(...clusterStarts), 0),
            `control plane alone: ${ms(median(controlPlaneStarts), 0)}`,
            '<= 30 s',
          ],
          [
            `kubectl apply to Running, roost image (${PODS} pods)`,
            ms(median(roostPods), 0),
            ms(percentile(roostPods, 90), 0),
            `pause image: ${ms(median(pausePods), 0)}`,
            '<= 2 s',
          ],
          [
            'images built, cold (empty store, npm ci)',
            ms(coldBuild, 0),
            '',
            `cached: ${ms(cachedBuild, 0)}`,
            '',
          ],
        ],
      ),
    );
    console.log(
      '\n' +
        table(
          ['image', 'size (uncompressed)'],
          built.map((i) => [i.ref, `${(i.bytes / 2 ** 20).toFixed(0)} MiB`]),
        ),
    );
    console.log('\n' + table(['node', 'kubelet RSS', 'containerd RSS'], memoryRows));
    await measureInstall(cluster, built, kubectl);
    console.log(
      `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    );
  } finally {
    await cluster.stop();
  }
}
