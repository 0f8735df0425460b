// `npm run bench:schedule`: bind 2,000 Sandboxes of mixed sizes onto 100 host
// pods (Pod objects with Leases, no processes) against a real API server,
// with Roost's scheduler and, in the same run, two baselines: kube-scheduler's
// default spreading (least allocated first) and plain first fit. For each:
// bindings per second, and pods used against the lower bound
// ceil(total memory / pod memory).
import { startControlPlane } from '../testenv/control-plane.ts';
import type { KubeClient } from '../kube/client.ts';
import { Leases, Namespaces, Pods, Sandboxes } from '../kube/api/resources.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { EventRecorder } from '../kube/events.ts';
import { SharedInformers } from '../kube/shared-informers.ts';
import {
  DEPLOYMENT_LABEL,
  HOST_LABEL,
  HOST_READY_CONDITION,
  HostAnnotations,
} from '../kube/well-known.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { SCORERS, type ScorerName } from '../scheduler/score.ts';
import { createLogger } from '../lib/log.ts';
import { sleep } from '../lib/duration.ts';
import { coresBetween, sampleCpu } from './cpu.ts';

const HOSTS = 100;
const SANDBOXES = 2000;
const POD_MEMORY_MIB = 6144;
const POD_CPU_MILLIS = 64_000;
const MAX_SANDBOXES = 200;
const REPLICAS_PER_DEPLOYMENT = 4;
/** Sizes and how often they occur: mostly small functions, a few large ones. */
const SIZES: [memoryMiB: number, weight: number][] = [
  [64, 30],
  [128, 30],
  [256, 25],
  [512, 10],
  [1024, 5],
];

const log = createLogger('bench', { level: 'warn' });
log.level = 'warn';

/** Deterministic sizes, so every scorer packs the same Sandboxes. */
function sizes(): number[] {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const total = SIZES.reduce((n, [, w]) => n + w, 0);
  return Array.from({ length: SANDBOXES }, () => {
    let pick = random() * total;
    for (const [size, weight] of SIZES) if ((pick -= weight) < 0) return size;
    return SIZES[0]![0];
  });
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function createPool(client: KubeClient, namespace: string): Promise<void> {
  await client.create(Namespaces, { metadata: { name: namespace } });
  const micro = () => new Date().toISOString().replace('Z', '000Z');
  await inParallel([...Array(HOSTS).keys()], 16, async (i) => {
    const name = `${namespace}-host-${String(i).padStart(3, '0')}`;
    await client.create(Pods, {
      metadata: {
        name,
        namespace,
        labels: { [HOST_LABEL]: 'true' },
        annotations: {
          [HostAnnotations.capacityMemoryMiB]: String(POD_MEMORY_MIB),
          [HostAnnotations.capacityCpuMillis]: String(POD_CPU_MILLIS),
          [HostAnnotations.maxSandboxes]: String(MAX_SANDBOXES),
          [HostAnnotations.runtimes]: 'nodejs,java',
          [HostAnnotations.sidecarPort]: '50051',
        },
      },
      spec: { nodeName: `node-${i % 25}`, containers: [{ name: 'sidecar', image: 'roost:dev' }] },
    });
    await client.create(Leases, {
      metadata: { name, namespace },
      spec: { holderIdentity: name, leaseDurationSeconds: 3600, renewTime: micro() },
    });
    await client.patch(
      Pods,
      { namespace, name },
      {
        status: {
          phase: 'Running',
          conditions: [
            {
              type: HOST_READY_CONDITION,
              status: 'True',
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
        },
      },
      { patchType: 'strategic', subresource: 'status' },
    );
  });
}

async function createSandboxes(
  client: KubeClient,
  namespace: string,
  memory: number[],
): Promise<void> {
  await inParallel([...memory.keys()], 32, (i) =>
    client.create(Sandboxes, {
      metadata: {
        name: `fn-${String(i).padStart(4, '0')}`,
        namespace,
        labels: { [DEPLOYMENT_LABEL]: `fn-${Math.floor(i / REPLICAS_PER_DEPLOYMENT)}` },
      },
      spec: {
        function: {
          runtime: 'nodejs',
          handler: 'index.handler',
          memoryMiB: memory[i],
          cpuMillis: 100,
          code: { inline: { files: { 'index.mjs': 'export const handler = async () => "ok";' } } },
        },
      },
    }),
  );
}

interface Row {
  scorer: string;
  bound: number;
  unschedulable: number;
  seconds: number;
  /** Until the last Scheduled Event was written, which trails the bindings. */
  eventsSeconds: number | undefined;
  perSecond: number;
  podsUsed: number;
  lowerBound: number;
  overCommitted: number;
  spread: number;
  conflicts: number;
  cores: Map<string, number>;
}

interface Variant {
  label: string;
  scorer: ScorerName;
  /** Record a Scheduled Event per binding, as the scheduler does (an extra API write each). */
  events: boolean;
}

const VARIANTS: Variant[] = [
  { label: 'Roost (spread replicas, then bin-pack)', scorer: 'spreadThenPack', events: true },
  { label: 'Roost, without Scheduled Events', scorer: 'spreadThenPack', events: false },
  {
    label: 'baseline: least allocated (kube-scheduler default)',
    scorer: 'spreadOnly',
    events: true,
  },
  { label: 'baseline: first fit (by pod name)', scorer: 'firstFit', events: true },
];

async function run(
  client: KubeClient,
  variant: Variant,
  index: number,
  round: number,
  memory: number[],
): Promise<Row> {
  const { scorer } = variant;
  const namespace = `bench-${round}-${index}-${scorer.toLowerCase()}`;
  await createPool(client, namespace);
  await createSandboxes(client, namespace, memory);

  const informers = new SharedInformers(client, log, { namespace });
  const recorder = new EventRecorder({ client, component: 'roost-scheduler', log });
  if (!variant.events) recorder.normal = () => {};
  const scheduler = new Scheduler({ client, informers, recorder, log, scorer: SCORERS[scorer] });
  await informers.start();
  const stop = new AbortController();
  const cpuBefore = sampleCpu();
  const started = performance.now();
  const running = scheduler.run(stop.signal);
  // Done when everything is bound, or when nothing has moved for 3 s (the rest is unschedulable).
  let last = -1;
  let lastChange = performance.now();
  let finished = started;
  while (scheduler.stats.bound < SANDBOXES && performance.now() - lastChange < 3000) {
    if (scheduler.stats.bound !== last) {
      last = scheduler.stats.bound;
      lastChange = finished = performance.now();
    }
    await sleep(5);
  }
  if (scheduler.stats.bound === SANDBOXES) finished = performance.now();
  const cpuAfter = sampleCpu();
  stop.abort();
  await running;
  await informers.stop();
  await recorder.flush();
  const eventsDone = performance.now();

  // Check the result from the API server, not from the scheduler's own view.
  const sandboxes: Sandbox[] = (await client.list(Sandboxes, { namespace })).items;
  const usage = new Map<string, number>();
  const podsOf = new Map<string, string[]>();
  for (const s of sandboxes) {
    if (!s.spec.podName) continue;
    usage.set(s.spec.podName, (usage.get(s.spec.podName) ?? 0) + s.spec.function.memoryMiB!);
    const deployment = s.metadata.labels![DEPLOYMENT_LABEL]!;
    podsOf.set(deployment, [...(podsOf.get(deployment) ?? []), s.spec.podName]);
  }
  const bound = sandboxes.filter((s) => s.spec.podName).length;
  const total = memory.reduce((a, b) => a + b, 0);
  const seconds = (finished - started) / 1000;
  return {
    scorer: variant.label,
    bound,
    unschedulable: SANDBOXES - bound,
    seconds,
    perSecond: bound / seconds,
    eventsSeconds: variant.events ? (eventsDone - started) / 1000 : undefined,
    podsUsed: usage.size,
    lowerBound: Math.ceil(total / POD_MEMORY_MIB),
    overCommitted: [...usage.values()].filter((m) => m > POD_MEMORY_MIB).length,
    spread:
      [...podsOf.values()].filter((pods) => new Set(pods).size === pods.length).length /
      podsOf.size,
    conflicts: scheduler.stats.conflicts,
    cores: coresBetween(cpuBefore, cpuAfter),
  };
}

/** The machine is shared and noisy: every variant runs ROUNDS times, interleaved, and the table shows medians. */
const ROUNDS = Number(process.env.ROOST_BENCH_ROUNDS ?? 3);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const controlPlane = await startControlPlane({
  progress: (line) => console.error(`[control plane] ${line}`),
});
const client = controlPlane.client();
try {
  const memory = sizes();
  const byVariant = new Map<string, Row[]>(VARIANTS.map((v) => [v.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so that no variant always runs on the emptiest etcd.
    for (let i = 0; i < VARIANTS.length; i++) {
      const index = (i + round) % VARIANTS.length;
      const variant = VARIANTS[index]!;
      console.error(`round ${round + 1}/${ROUNDS}: ${variant.label}...`);
      byVariant.get(variant.label)!.push(await run(client, variant, index, round, memory));
    }
  }
  const total = memory.reduce((a, b) => a + b, 0);
  const lowerBound = Math.ceil(total / POD_MEMORY_MIB);
  console.log(
    `\n${SANDBOXES} Sandboxes (${SIZES.map(([s, w]) => `${s} MiB x${w}%`).join(', ')}; ${total} MiB in all, ${REPLICAS_PER_DEPLOYMENT} replicas per deployment) onto ${HOSTS} host pods of ${POD_MEMORY_MIB} MiB; lower bound ceil(${total} / ${POD_MEMORY_MIB}) = ${lowerBound} pods. Medians of ${ROUNDS} rounds (min-max).\n`,
  );
  console.log(
    '| scorer | bound | bindings/s | seconds to bind all | seconds to last Event | pods used | x lower bound | over-committed pods | deployments fully spread | bind conflicts |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const range = (values: number[], digits = 0) =>
    `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
  for (const [label, rows] of byVariant) {
    const events = rows.map((r) => r.eventsSeconds).filter((e): e is number => e !== undefined);
    console.log(
      `| ${label} | ${median(rows.map((r) => r.bound))} | ${range(rows.map((r) => r.perSecond))} | ${median(rows.map((r) => r.seconds)).toFixed(2)} | ${events.length ? median(events).toFixed(2) : 'no Events'} | ${range(rows.map((r) => r.podsUsed))} | ${(median(rows.map((r) => r.podsUsed)) / lowerBound).toFixed(3)} | ${Math.max(...rows.map((r) => r.overCommitted))} | ${(100 * median(rows.map((r) => r.spread))).toFixed(0)}% | ${median(rows.map((r) => r.conflicts))} |`,
    );
  }
  console.log('\nCPU while binding, in cores (the machine has 2), medians:\n');
  const all = [...byVariant.values()].flat();
  const names = [...new Set(all.flatMap((r) => [...r.cores.keys()]))].filter((n) =>
    all.some((r) => (r.cores.get(n) ?? 0) > 0.01),
  );
  console.log(`| scorer | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---:').join('|')}|`);
  for (const [label, rows] of byVariant)
    console.log(
      `| ${label} | ${names.map((n) => median(rows.map((r) => r.cores.get(n) ?? 0)).toFixed(2)).join(' | ')} |`,
    );
  if (all.some((r) => r.overCommitted > 0)) process.exitCode = 1;
} finally {
  client.close();
  await controlPlane.stop();
}
