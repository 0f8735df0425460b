// npm run bench:uploads — the gateway's memory under a flood of uploads.
// UPLOADS (default 150) requests of 6 MB each sent at once to a function
// that answers the size it got, through two gateways in one run: the one
// `roost dev` starts, with the default body budget (256 MiB), and a second
// `roost gateway` whose budget is so large it never refuses (what every
// gateway did before the budget). Each gateway's resident memory is sampled
// every 100 ms: before, at its peak, and 10 s after the flood.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxDeployments } from '../kube/api/resources.ts';
import { freePort } from '../lib/ports.ts';
import { startProcess, type ManagedProcess } from '../lib/process.ts';
import { startBenchSystem, waitAvailable } from './support/system.ts';
import { machine, table } from './support/stats.ts';

const UPLOADS = Number(process.env.UPLOADS ?? 150);
const BODY = Buffer.alloc(6 * 1024 * 1024, 7);
const ROOST = join(import.meta.dirname, '..', 'cli', 'roost.ts');
const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

async function flood(url: string, pid: number) {
  const before = rssBytes(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 100);
  const codes = new Map<number, number>();
  await Promise.all(
    Array.from({ length: UPLOADS }, async () => {
      // 0: the connection failed without an answer.
      const code = await fetch(url, { method: 'POST', body: BODY }).then(
        async (response) => (await response.arrayBuffer(), response.status),
        () => 0,
      );
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }),
  );
  await new Promise((r) => setTimeout(r, 10_000));
  clearInterval(sampler);
  const after = rssBytes(pid);
  const answers = [...codes]
    .sort(([a], [b]) => a - b)
    .map(([code, n]) => `${n}× ${code || 'failed'}`)
    .join(', ');
  return { before, peak, after, answers };
}

console.error(`bench:uploads: ${UPLOADS} uploads of 6 MB at once; starting Roost`);
const system = await startBenchSystem({ hosts: 1 });
let unbounded: ManagedProcess | undefined;
try {
  await system.client.create(SandboxDeployments, {
    metadata: { name: 'size', namespace: 'default' },
    spec: {
      replicas: 1,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 512,
            concurrency: 16,
            code: {
              inline: {
                files: {
                  'index.mjs': `export const handler = async (e) => ({ bytes: e.body ? Buffer.from(e.body, 'base64').length : 0 });`,
                },
              },
            },
          },
        },
      },
    },
  });
  await waitAvailable(system.client, 'default', 'size', 1);

  const port = await freePort();
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  unbounded = startProcess({
    name: 'roost gateway (no body budget)',
    command: process.execPath,
    args: [
      ROOST,
      'gateway',
      '--host=127.0.0.1',
      `--port=${port}`,
      `--kubeconfig=${system.kubeconfigPath}`,
      '--body-memory-mib=1000000',
    ],
    env: { ...process.env, ROOST_INVOKE_TOKEN: system.token, ROOST_EXIT_WITH_PARENT: '1' },
    onLine: (line) => {
      if (line.includes('roost gateway ready')) ready();
    },
  });
  await started;
  const targets = [
    {
      label: 'gateway, body budget 256 MiB (default)',
      url: system.gatewayUrl,
      pid: system.roost.state.gateway.pid!,
    },
    { label: 'gateway, no body budget', url: `http://127.0.0.1:${port}`, pid: unbounded.pid! },
  ];
  for (const { url } of targets)
    for (
      let tries = 0;
      (await fetch(`${url}/fn/default/size`)).status !== 200 && tries < 100;
      tries++
    )
      await new Promise((r) => setTimeout(r, 100));

  const rows: string[][] = [];
  for (const target of targets) {
    console.error(`  ${target.label}`);
    const r = await flood(`${target.url}/fn/default/size`, target.pid);
    rows.push([
      target.label,
      `${Math.round(r.before / MiB)} MiB`,
      `${Math.round(r.peak / MiB)} MiB`,
      `${Math.round(r.after / MiB)} MiB`,
      r.answers,
    ]);
  }
  console.log(`\n## ${UPLOADS} uploads of 6 MB at once (${machine()})\n`);
  console.log(table(['gateway', 'RSS before', 'RSS peak', 'RSS 10 s after', 'answers'], rows));
} finally {
  await unbounded?.stop(5000);
  await system.stop();
}
