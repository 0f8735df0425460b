// npm run bench:coldstart — first-response latency of a function scaled to
// zero: the request is held by the gateway's activator, the autoscaler scales
// the function from zero, the controllers create its Sandbox, the scheduler
// binds it, the sidecar plugs it, and the request is forwarded. Each trial
// uses a function of its own, so every one starts from zero; the same
// function's next (warm) request is the baseline, measured in the same run.
import { cpus, totalmem } from 'node:os';
import { SandboxDeployments } from '../kube/api/resources.ts';
import { startBenchSystem } from './support/system.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const TRIALS = Number(process.env.TRIALS ?? 25);
const namespace = 'default';

console.error(`bench:coldstart: ${TRIALS} functions, each called first at zero; starting Roost`);
const system = await startBenchSystem({ hosts: 2 });
try {
  const { client, gatewayUrl } = system;
  for (let i = 0; i < TRIALS; i++) {
    await client.create(SandboxDeployments, {
      metadata: { name: `cold-${i}`, namespace },
      spec: {
        replicas: 0,
        autoscaling: { minReplicas: 0, maxReplicas: 2 },
        template: {
          spec: {
            function: {
              runtime: 'nodejs',
              handler: 'index.handler',
              memoryMiB: 64,
              code: {
                inline: {
                  files: { 'index.mjs': `export const handler = async () => ({ trial: ${i} });` },
                },
              },
            },
          },
        },
      },
    });
  }
  // Let the controllers and the gateway see every function before timing.
  await new Promise((r) => setTimeout(r, 2000));

  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const url = `${gatewayUrl}/fn/${namespace}/cold-${i}`;
    let started = performance.now();
    const first = await fetch(url);
    const body = await first.text();
    cold.push(performance.now() - started);
    if (first.status !== 200 || JSON.parse(body).trial !== i)
      throw new Error(`trial ${i}: HTTP ${first.status} ${body}`);
    started = performance.now();
    await (await fetch(url)).text();
    warm.push(performance.now() - started);
    if ((i + 1) % 5 === 0) console.error(`  ${i + 1}/${TRIALS} cold starts`);
  }

  console.log(`\n## Cold start: first response of a function at zero (${TRIALS} trials)\n`);
  console.log(
    table(
      ['', 'first request (from zero)', 'next request (warm)', 'target (cold)'],
      [
        ['p50', ms(median(cold)), ms(median(warm), 2), '<= 150 ms'],
        ['p99', ms(percentile(cold, 99)), ms(percentile(warm, 99), 2), '<= 400 ms'],
        ['min', ms(Math.min(...cold)), ms(Math.min(...warm), 2), ''],
      ],
    ),
  );
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  );
} finally {
  await system.stop();
}
