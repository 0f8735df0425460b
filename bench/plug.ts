// npm run bench:plug — how long plugging a Sandbox takes, from the moment it
// is bound to a host pod (spec.podName set) to the moment a watch sees it
// Ready, with the warm pool and without it (every plug starts a process), side
// by side in one run; and the extra latency of the first invocation after
// hibernation, against a warm invocation of the same Sandbox.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../testenv/control-plane.ts';
import { HostPodKubelet, type HostPod } from '../testenv/host-pods.ts';
import { Namespaces, Sandboxes } from '../kube/api/resources.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import { ReadyWatch, plugOnce } from './support/plug-timer.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const PLUGS = Number(process.env.PLUGS ?? 60);
const RESUMES = Number(process.env.RESUMES ?? 30);
const namespace = 'bench-plug';

console.error(
  `bench:plug: ${PLUGS} plugs per host pod, ${RESUMES} resumes; starting a control plane`,
);
const controlPlane = await startControlPlane({ progress: (line) => console.error(`  ${line}`) });
const client = controlPlane.client();
const dir = mkdtempSync(join(tmpdir(), 'roost-bench-plug-'));
const token = randomBytes(16).toString('hex');
const kubelet = new HostPodKubelet({
  kubeconfigPath: controlPlane.kubeconfigPath,
  token,
  dir,
  env: { ROOST_LOG_LEVEL: 'warn' },
});

try {
  await client.create(Namespaces, { metadata: { name: namespace } });
  await kubelet.start();
  const pooled = await kubelet.addHostPod({
    name: 'with-pool',
    namespace,
    sidecarArgs: ['--hibernate-after=0'],
  });
  const unpooled = await kubelet.addHostPod({
    name: 'without-pool',
    namespace,
    sidecarArgs: ['--warm-pool-size=0', '--hibernate-after=0'],
  });
  const sleepy = await kubelet.addHostPod({
    name: 'hibernating',
    namespace,
    sidecarArgs: ['--hibernate-after=1s'],
  });

  // Ready transitions as a watch observes them, stamped on arrival; hibernation too.
  const hibernatedAt = new Map<string, number>();
  const watch = new ReadyWatch(client, namespace, (sandbox) => {
    if (sandbox.status?.hibernated) hibernatedAt.set(sandbox.metadata.name!, performance.now());
  });
  await new Promise((r) => setTimeout(r, 300));

  const plugTimes = async (host: HostPod): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < PLUGS; i++) {
      const plug = await plugOnce(client, watch, unbound(`${host.name}-${i}`, i), host.name);
      times.push(plug.sinceBind);
      if ((i + 1) % 20 === 0) console.error(`  ${host.name}: ${i + 1}/${PLUGS} plugs`);
    }
    return times;
  };

  const withPool = await plugTimes(pooled);
  const withoutPool = await plugTimes(unpooled);

  console.error('  measuring resume after hibernation');
  const connection = new SandboxHostConnection(sleepy.address, token);
  const name = 'sleeper';
  await client.create(Sandboxes, {
    ...unbound(name, -1),
    spec: { ...unbound(name, -1).spec, podName: sleepy.name },
  });
  await watch.ready(name);
  const warm: number[] = [];
  const resumed: number[] = [];
  const timedInvoke = async (requestId: string) => {
    const started = performance.now();
    const response = await connection.invoke({
      namespace,
      sandbox: name,
      requestId,
      payload: Buffer.from('{}'),
    });
    return { ms: performance.now() - started, coldStart: response.coldStart };
  };
  // Each round: hibernate, settle, invoke (a resume), settle, invoke again
  // (warm). Both calls find the host equally quiet, so their difference is
  // the resume alone.
  for (let i = 0; i < RESUMES; i++) {
    hibernatedAt.delete(name);
    while (!hibernatedAt.has(name)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    const first = await timedInvoke(`resume-${i}`);
    if (!first.coldStart) throw new Error('the invocation after hibernation was not a resume');
    resumed.push(first.ms);
    await new Promise((r) => setTimeout(r, 300));
    const second = await timedInvoke(`warm-${i}`);
    if (second.coldStart) throw new Error('the invocation after a resume was not warm');
    warm.push(second.ms);
  }
  connection.close();
  await watch.stop();

  const extra = median(resumed) - median(warm);
  console.log(`\n## Plug latency (bound to Ready seen by a watch), ${PLUGS} plugs each\n`);
  console.log(
    table(
      ['', 'with warm pool', 'without warm pool (process start)', 'ratio'],
      [
        [
          'p50',
          ms(median(withPool)),
          ms(median(withoutPool)),
          `${(median(withoutPool) / median(withPool)).toFixed(1)}x`,
        ],
        [
          'p99',
          ms(percentile(withPool, 99)),
          ms(percentile(withoutPool, 99)),
          `${(percentile(withoutPool, 99) / percentile(withPool, 99)).toFixed(1)}x`,
        ],
        ['target', 'p50 <= 20 ms, p99 <= 100 ms', '', ''],
      ],
    ),
  );
  console.log(`\n## First invocation after hibernation, ${RESUMES} resumes\n`);
  console.log(
    table(
      ['', 'warm invocation', 'after hibernation', 'extra'],
      [
        ['p50', ms(median(warm), 2), ms(median(resumed), 2), ms(extra, 2)],
        ['p99', ms(percentile(warm, 99), 2), ms(percentile(resumed, 99), 2), ''],
        ['target', '', '', 'p50 <= 15 ms'],
      ],
    ),
  );
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  );
} finally {
  await kubelet.stop();
  client.close();
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
}

function unbound(name: string, i: number): Sandbox {
  return {
    metadata: { name, namespace },
    spec: {
      function: {
        runtime: 'nodejs',
        handler: 'index.handler',
        code: {
          inline: {
            files: { 'index.mjs': `export const handler = async () => ({ plug: ${i} });` },
          },
        },
      },
    },
  };
}
