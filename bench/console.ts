// `npm run bench:console`: what the console costs, against a real API server.
// One `roost console` process and one Chromium page on its packing view, in
// three phases of one run: an empty cluster (the baseline), then 500
// Sandboxes of 50 functions on 50 host pods at rest, then the same with 10
// Sandbox status writes a second (the churn of a busy cluster); all along,
// every host pod's Lease is renewed every 10 s, as sidecars do. The host
// pods, SandboxDeployments and Sandboxes are API objects whose status this
// script writes (no sidecars, no gateway: this measures the console, not
// them). For each phase: the console's resident memory and CPU, and the
// page's main-thread CPU (Chrome's TaskDuration) and JS heap, medians of
// one-second samples.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startControlPlane } from '../testenv/control-plane.ts';
import { chromiumPath } from '../testenv/browser.ts';
import type { KubeClient } from '../kube/client.ts';
import { Leases, Namespaces, Pods, SandboxDeployments, Sandboxes } from '../kube/api/resources.ts';
import type { Sandbox, SandboxDeployment } from '../kube/api/roost.ts';
import {
  DEPLOYMENT_LABEL,
  HOST_LABEL,
  HOST_READY_CONDITION,
  HostAnnotations,
} from '../kube/well-known.ts';
import { startProcess } from '../lib/process.ts';
import { sleep } from '../lib/duration.ts';
import { mintLoginTicket } from '../console/login-tickets.ts';
import { machine, median, table } from './support/stats.ts';

const HOSTS = 50;
const FUNCTIONS = 50;
const REPLICAS = 10;
const HOST_MEMORY_MIB = 2048;
const MEASURE_S = Number(process.env.ROOST_BENCH_SECONDS ?? 20);
const CHURN_PER_SECOND = 10;
const NAMESPACE = 'bench-console';

const ROOST = join(import.meta.dirname, '..', 'cli', 'roost.ts');
const SCREENSHOTS = join(import.meta.dirname, '..', 'test-results', 'console');
const micro = () => new Date().toISOString().replace('Z', '000Z');
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function hostName(i: number): string {
  return `host-${String(i).padStart(2, '0')}`;
}

async function createHosts(client: KubeClient): Promise<void> {
  await inParallel([...Array(HOSTS).keys()], 16, async (i) => {
    const name = hostName(i);
    await client.create(Pods, {
      metadata: {
        name,
        namespace: NAMESPACE,
        labels: { [HOST_LABEL]: 'true', 'roost.dev/pool': i < 40 ? 'nodejs' : 'java' },
        annotations: {
          [HostAnnotations.capacityMemoryMiB]: String(HOST_MEMORY_MIB),
          [HostAnnotations.capacityCpuMillis]: '4000',
          [HostAnnotations.runtimes]: i < 40 ? 'nodejs' : 'nodejs,java',
        },
      },
      spec: { nodeName: `node-${i % 5}`, containers: [{ name: 'sidecar', image: 'roost:bench' }] },
    });
    await client.create(Leases, {
      metadata: { name, namespace: NAMESPACE },
      spec: { holderIdentity: name, leaseDurationSeconds: 3600, renewTime: micro() },
    });
    await client.patch(
      Pods,
      { namespace: NAMESPACE, name },
      {
        status: {
          phase: 'Running',
          conditions: [{ type: HOST_READY_CONDITION, status: 'True', lastTransitionTime: now() }],
        },
      },
      { patchType: 'strategic', subresource: 'status' },
    );
  });
}

/** Renews every host pod's Lease every 10 s, as their sidecars would; returns a stop function. */
function renewLeases(client: KubeClient): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      await inParallel([...Array(HOSTS).keys()], 4, (i) =>
        client.patch(
          Leases,
          { namespace: NAMESPACE, name: hostName(i) },
          { spec: { renewTime: micro() } },
        ),
      );
      for (let waited = Date.now() - started; waited < 10_000 && !stopped; waited += 500)
        await sleep(500);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

function fnSpec(memoryMiB: number): SandboxDeployment['spec']['template']['spec']['function'] {
  return {
    runtime: 'nodejs',
    handler: 'index.handler',
    memoryMiB,
    code: { inline: { files: { 'index.mjs': 'export const handler = async () => "ok";' } } },
  };
}

/** 50 functions of 10 replicas, 64 to 256 MiB, spread over the host pods as a scheduler would. */
async function createFunctions(client: KubeClient): Promise<string[]> {
  const names: string[] = [];
  const sandboxes: { name: string; fn: string; memoryMiB: number; pod: string }[] = [];
  const free = Array.from({ length: HOSTS }, () => HOST_MEMORY_MIB);
  for (let f = 0; f < FUNCTIONS; f++) {
    const fn = `fn-${String(f).padStart(2, '0')}`;
    const memoryMiB = [64, 128, 128, 192, 256][f % 5]!;
    await client.create(SandboxDeployments, {
      metadata: { name: fn, namespace: NAMESPACE },
      spec: { replicas: REPLICAS, template: { spec: { function: fnSpec(memoryMiB) } } },
    } as SandboxDeployment);
    await client.patch(
      SandboxDeployments,
      { namespace: NAMESPACE, name: fn },
      { status: { replicas: REPLICAS, readyReplicas: REPLICAS, availableReplicas: REPLICAS } },
      { subresource: 'status' },
    );
    // Replicas spread over the host pods, each on the next one with room.
    for (let r = 0; r < REPLICAS; r++) {
      let host = (f * 3 + r * 5) % HOSTS;
      while (free[host]! < memoryMiB) host = (host + 1) % HOSTS;
      free[host] = free[host]! - memoryMiB;
      sandboxes.push({ name: `${fn}-${r}`, fn, memoryMiB, pod: hostName(host) });
    }
  }
  await inParallel(sandboxes, 32, async (s) => {
    await client.create(Sandboxes, {
      metadata: { name: s.name, namespace: NAMESPACE, labels: { [DEPLOYMENT_LABEL]: s.fn } },
      spec: { podName: s.pod, function: fnSpec(s.memoryMiB) },
    } as Sandbox);
    await client.patch(
      Sandboxes,
      { namespace: NAMESPACE, name: s.name },
      { status: readyStatus(s.pod, false) },
      { subresource: 'status' },
    );
    names.push(s.name);
  });
  return names;
}

function readyStatus(pod: string, hibernated: boolean): Sandbox['status'] {
  return {
    phase: 'Running',
    podName: pod,
    hibernated,
    conditions: [
      {
        type: 'Scheduled',
        status: 'True',
        reason: 'Scheduled',
        message: `bound to ${pod}`,
        lastTransitionTime: now(),
      },
      {
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: 'serving',
        lastTransitionTime: now(),
      },
    ],
  } as Sandbox['status'];
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface PhaseResult {
  phase: string;
  pushesPerSecond: number;
  rss: number[];
  consoleCores: number;
  pageCores: number;
  pageHeapMiB: number[];
  blocks: number;
}

const controlPlane = await startControlPlane({
  progress: (line) => console.error(`[control plane] ${line}`),
});
const client = controlPlane.client();
const token = randomBytes(16).toString('hex');
const loginKey = randomBytes(24).toString('base64url');
let stopConsole = async () => {};
let stopRenewing = async () => {};
const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
try {
  await client.create(Namespaces, { metadata: { name: NAMESPACE } });
  let resolveUrl!: (url: string) => void;
  const ready = new Promise<string>((resolve) => (resolveUrl = resolve));
  const consoleProcess = startProcess({
    name: 'roost console',
    command: process.execPath,
    args: [
      ROOST,
      'console',
      '--port=0',
      `--kubeconfig=${controlPlane.kubeconfigPath}`,
      `--namespace=${NAMESPACE}`,
      `--system-namespace=${NAMESPACE}`,
    ],
    env: {
      ...process.env,
      ROOST_INVOKE_TOKEN: token,
      ROOST_CONSOLE_LOGIN_KEY: loginKey,
      ROOST_LOG_LEVEL: 'warn',
    },
    onLine: (line) => {
      const match = /roost console ready on (\S+)/.exec(line);
      if (match) resolveUrl(match[1]!);
    },
  });
  stopConsole = async () => void (await consoleProcess.stop());
  const url = await ready;
  const pid = consoleProcess.pid!;
  const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  await page.goto(`${url}/login?ticket=${mintLoginTicket(loginKey)}`);
  await page.waitForSelector('text=host pods');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async (name: string) => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === name)?.value ?? 0;
  };

  const measure = async (phase: string, during?: () => Promise<void>): Promise<PhaseResult> => {
    console.error(`${phase}: measuring for ${MEASURE_S} s ...`);
    const rss: number[] = [];
    const heap: number[] = [];
    const started = Date.now();
    // A second subscriber in the page counts what the server pushes (its first is the initial snapshot).
    await page.evaluate(
      "window.__pushes = -1; window.__stream = new EventSource('/api/stream'); window.__stream.addEventListener('snapshot', () => window.__pushes++)",
    );
    const cpu0 = cpuSeconds(pid);
    const task0 = await metric('TaskDuration');
    let working = true;
    const work = during
      ? (async () => {
          while (working) await during();
        })()
      : Promise.resolve();
    for (let s = 0; s < MEASURE_S; s++) {
      await sleep(1000);
      rss.push(rssMiB(pid));
      heap.push((await metric('JSHeapUsedSize')) / 1048576);
    }
    working = false;
    await work;
    const seconds = (Date.now() - started) / 1000;
    const pushes = Number(await page.evaluate('window.__stream.close(), window.__pushes'));
    return {
      pushesPerSecond: pushes / seconds,
      phase,
      rss,
      consoleCores: (cpuSeconds(pid) - cpu0) / seconds,
      pageCores: ((await metric('TaskDuration')) - task0) / seconds,
      pageHeapMiB: heap,
      blocks: await page.locator('li.sandbox').count(),
    };
  };

  const results: PhaseResult[] = [];
  await sleep(3000);
  results.push(await measure('empty cluster (baseline)'));

  console.error(`creating ${HOSTS} host pods and ${FUNCTIONS * REPLICAS} Sandboxes ...`);
  await createHosts(client);
  stopRenewing = renewLeases(client);
  const names = await createFunctions(client);
  for (const deadline = Date.now() + 120_000; ; await sleep(500)) {
    if ((await page.locator('li.sandbox').count()) >= FUNCTIONS * REPLICAS) break;
    if (Date.now() > deadline)
      throw new Error('The page did not show every Sandbox within 2 minutes');
  }
  await sleep(5000);
  results.push(await measure(`${names.length} Sandboxes on ${HOSTS} host pods, at rest`));

  // A picture of the packing at this size, for the README.
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'packing-500.png') });

  let flip = 0;
  results.push(
    await measure(`same, ${CHURN_PER_SECOND} status writes/s`, async () => {
      const started = Date.now();
      await inParallel(
        Array.from({ length: CHURN_PER_SECOND }, () => names[flip++ % names.length]!),
        4,
        (name) =>
          client.patch(
            Sandboxes,
            { namespace: NAMESPACE, name },
            { status: { hibernated: flip % 2 === 0 } },
            { subresource: 'status' },
          ),
      );
      await sleep(Math.max(0, 1000 - (Date.now() - started)));
    }),
  );

  const base = results[0]!;
  console.log(
    `\nThe console (one roost console process, one Chromium page on the packing view), medians of ${MEASURE_S} one-second samples per phase, on ${machine()}:\n`,
  );
  console.log(
    table(
      [
        'phase',
        'blocks drawn',
        'snapshots pushed/s',
        'console RSS',
        'x baseline',
        'console CPU',
        'page CPU',
        'page JS heap',
      ],
      results.map((r) => [
        r.phase,
        String(r.blocks),
        r.pushesPerSecond.toFixed(2),
        `${median(r.rss).toFixed(0)} MiB`,
        (median(r.rss) / median(base.rss)).toFixed(2),
        `${(r.consoleCores * 100).toFixed(1)}% of a core`,
        `${(r.pageCores * 100).toFixed(1)}% of a core`,
        `${median(r.pageHeapMiB).toFixed(1)} MiB`,
      ]),
    ),
  );
} finally {
  await stopRenewing();
  await browser.close();
  await stopConsole();
  client.close();
  await controlPlane.stop();
}
