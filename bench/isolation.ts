// npm run bench:isolation — what keeping functions apart costs. Three kinds
// of host pod side by side in one run: no per-function isolation beyond
// Node's permission model (--function-uids=off --cgroups=off, the weak mode),
// a user id per function (--cgroups=off), and a user id plus a cgroup per
// function (the default where the sidecar may). For each: plugging with the
// warm pool, plugging with a process start (no pool: the uid, the prlimit
// launcher and the cgroup are paid here), the first invocation after
// hibernation (a resume: the private code copy is paid here), and warm
// invocations. Rounds take the kinds in turn, so the machine's noise falls on
// all of them alike.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Namespaces, Pods, Sandboxes } from '../kube/api/resources.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { HostAnnotations } from '../kube/well-known.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import { startControlPlane } from '../testenv/control-plane.ts';
import { HostPodKubelet, type HostPod } from '../testenv/host-pods.ts';
import { ReadyWatch, plugOnce, waitGone } from './support/plug-timer.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const PLUGS = Number(process.env.PLUGS ?? 40);
const RESUMES = Number(process.env.RESUMES ?? 15);
const INVOKES = Number(process.env.INVOKES ?? 400);
const namespace = 'bench-isolation';

const KINDS = [
  { name: 'permission model only', args: ['--function-uids=off', '--cgroups=off'] },
  { name: '+ uid per function', args: ['--cgroups=off'] },
  { name: '+ uid and cgroup', args: [] },
] as const;

interface Pods {
  pooled: HostPod;
  unpooled: HostPod;
  sleepy: HostPod;
}

console.error(
  `bench:isolation: ${PLUGS} plugs with and without the warm pool, ${RESUMES} resumes and ${INVOKES} warm invocations per kind; starting a control plane`,
);
const controlPlane = await startControlPlane({ progress: (line) => console.error(`  ${line}`) });
const client = controlPlane.client();
const dir = mkdtempSync(join(tmpdir(), 'roost-bench-isolation-'));
// Function users pass through here to their slots.
chmodSync(dir, 0o711);
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
  const pods: Pods[] = [];
  for (const [k, kind] of KINDS.entries()) {
    const add = (suffix: string, args: string[]) =>
      kubelet.addHostPod({
        name: `kind${k}-${suffix}`,
        namespace,
        sidecarArgs: [...kind.args, ...args],
      });
    pods.push({
      pooled: await add('pool', ['--hibernate-after=0']),
      unpooled: await add('nopool', ['--warm-pool-size=0', '--hibernate-after=0']),
      sleepy: await add('sleepy', ['--hibernate-after=1s']),
    });
  }
  for (const [k, kind] of KINDS.entries()) {
    const pod = await client.get(Pods, { namespace, name: pods[k]!.pooled.name });
    console.error(
      `  ${kind.name}: roost.dev/isolation=${pod.metadata.annotations?.[HostAnnotations.isolation]} (${pod.metadata.annotations?.[HostAnnotations.isolationDetails]})`,
    );
  }

  const hibernatedAt = new Map<string, number>();
  const watch = new ReadyWatch(client, namespace, (sandbox) => {
    if (sandbox.status?.hibernated) hibernatedAt.set(sandbox.metadata.name!, performance.now());
  });
  await new Promise((r) => setTimeout(r, 300));

  const results = KINDS.map(() => ({
    pooled: [] as number[],
    unpooled: [] as number[],
    warm: [] as number[],
    resumed: [] as number[],
    invoke: [] as number[],
  }));

  for (let i = 0; i < PLUGS; i++) {
    for (const [k] of KINDS.entries()) {
      const { pooled, unpooled } = pods[k]!;
      results[k]!.pooled.push(
        (await plugOnce(client, watch, sandbox(`k${k}-pool-${i}`), pooled.name)).sinceBind,
      );
      results[k]!.unpooled.push(
        (await plugOnce(client, watch, sandbox(`k${k}-nopool-${i}`), unpooled.name)).sinceBind,
      );
    }
    if ((i + 1) % 10 === 0 || i === 0) console.error(`  ${i + 1}/${PLUGS} plug rounds`);
  }

  // One long-lived Sandbox per kind: resumes on the hibernating pod, warm
  // invocations on the pooled one.
  const connections = pods.map(
    (p) =>
      [
        new SandboxHostConnection(p.sleepy.address, token),
        new SandboxHostConnection(p.pooled.address, token),
      ] as const,
  );
  for (const [k] of KINDS.entries()) {
    for (const [name, pod] of [
      [`sleeper-${k}`, pods[k]!.sleepy],
      [`server-${k}`, pods[k]!.pooled],
    ] as const) {
      await client.create(Sandboxes, {
        ...sandbox(name),
        spec: { ...sandbox(name).spec, podName: pod.name },
      });
      await watch.ready(name);
    }
  }
  const timedInvoke = async (
    connection: SandboxHostConnection,
    name: string,
    requestId: string,
  ) => {
    const started = performance.now();
    const response = await connection.invoke({
      namespace,
      sandbox: name,
      requestId,
      payload: Buffer.from('{}'),
    });
    if (response.error !== 'FUNCTION_ERROR_NONE')
      throw new Error(`${name}: ${response.errorMessage}`);
    return { ms: performance.now() - started, coldStart: response.coldStart };
  };

  for (let i = 0; i < RESUMES; i++) {
    // Each sleeper hibernates 1 s after its last invocation; a resume clears
    // the mark, so that the next round waits for the next hibernation.
    for (const [k] of KINDS.entries()) {
      while (!hibernatedAt.has(`sleeper-${k}`)) await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const [k] of KINDS.entries()) {
      const first = await timedInvoke(connections[k]![0], `sleeper-${k}`, `resume-${i}`);
      hibernatedAt.delete(`sleeper-${k}`);
      if (!first.coldStart) throw new Error('the invocation after hibernation was not a resume');
      results[k]!.resumed.push(first.ms);
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const [k] of KINDS.entries()) {
      const second = await timedInvoke(connections[k]![0], `sleeper-${k}`, `warm-${i}`);
      results[k]!.warm.push(second.ms);
    }
    if ((i + 1) % 5 === 0) console.error(`  ${i + 1}/${RESUMES} resume rounds`);
  }

  for (let i = 0; i < INVOKES; i += 20) {
    for (const [k] of KINDS.entries()) {
      for (let j = 0; j < 20; j++)
        results[k]!.invoke.push(
          (await timedInvoke(connections[k]![1], `server-${k}`, `inv-${i + j}`)).ms,
        );
    }
  }
  for (const [sleepy, pooled] of connections) {
    sleepy.close();
    pooled.close();
  }
  for (const [k] of KINDS.entries()) {
    for (const name of [`sleeper-${k}`, `server-${k}`]) {
      await client.delete(Sandboxes, { namespace, name });
      await waitGone(client, { namespace, name });
    }
  }
  await watch.stop();

  const base = results[0]!;
  const row = (what: string, pick: (r: (typeof results)[number]) => number, digits = 1) => [
    what,
    ...results.map((r) => {
      const value = pick(r);
      const ratio = value / pick(base);
      return r === base ? ms(value, digits) : `${ms(value, digits)} (${ratio.toFixed(2)}x)`;
    }),
  ];
  console.log(
    `\n## The cost of isolation, side by side (${PLUGS} plugs, ${RESUMES} resumes, ${INVOKES} warm invocations per kind)\n`,
  );
  console.log(
    table(
      ['', ...KINDS.map((k) => k.name)],
      [
        row('plug, warm pool, p50', (r) => median(r.pooled)),
        row('plug, warm pool, p99', (r) => percentile(r.pooled, 99)),
        row('plug, process start, p50', (r) => median(r.unpooled)),
        row('plug, process start, p99', (r) => percentile(r.unpooled, 99)),
        row('resume after hibernation, extra, p50', (r) => median(r.resumed) - median(r.warm), 2),
        row('warm invocation (gRPC to the sidecar), p50', (r) => median(r.invoke), 2),
        row('warm invocation, p99', (r) => percentile(r.invoke, 99), 2),
      ],
    ),
  );
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Ratios are against the first column, in the same run.`,
  );
} finally {
  await kubelet.stop();
  client.close();
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
}

function sandbox(name: string): Sandbox {
  return {
    metadata: { name, namespace },
    spec: {
      function: {
        runtime: 'nodejs',
        handler: 'index.handler',
        code: {
          inline: {
            files: { 'index.mjs': `export const handler = async () => ({ name: '${name}' });` },
          },
        },
      },
    },
  };
}
