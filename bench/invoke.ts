// npm run bench:invoke — the gateway's cost on the invocation path. A no-op
// Node function behind the gateway, and a bare Node HTTP server returning the
// same body, each driven by the same load generator (autocannon) in one run:
// first at full throughput, then both at half the gateway's maximum, where
// the latency the gateway adds is read at p50 and p99.
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '../lib/process.ts';
import { SandboxDeployments } from '../kube/api/resources.ts';
import { startBenchSystem, waitAvailable } from './support/system.ts';
import { load, type LoadResult } from './support/load.ts';
import { median, ms, percentile, table } from './support/stats.ts';

const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const namespace = 'default';

console.error(
  `bench:invoke: ${DURATION} s per run, ${CONNECTIONS} connections at full load; starting Roost`,
);
const system = await startBenchSystem({ hosts: 1 });
const stops: (() => Promise<unknown>)[] = [];

try {
  // One Sandbox that takes many requests at once, so that the gateway path is what is measured.
  await system.client.create(SandboxDeployments, {
    metadata: { name: 'noop', namespace },
    spec: {
      replicas: 1,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            concurrency: 64,
            code: {
              inline: {
                files: { 'index.mjs': 'export const handler = async () => ({ ok: true });' },
              },
            },
          },
        },
      },
    },
  });
  await waitAvailable(system.client, namespace, 'noop', 1);

  const bare = startProcess({
    name: 'bare server',
    command: process.execPath,
    args: [join(import.meta.dirname, 'support', 'bare-server.ts')],
  });
  stops.push(() => bare.stop());
  const barePort = await new Promise<string>((resolve) =>
    bare.child.stdout!.once('data', (d: Buffer) =>
      resolve(/listening (\d+)/.exec(d.toString())![1]!),
    ),
  );
  const targets = {
    bare: `http://127.0.0.1:${barePort}/`,
    gateway: `${system.gatewayUrl}/fn/${namespace}/noop`,
  };
  for (let tries = 0; (await fetch(targets.gateway)).status !== 200 && tries < 100; tries++)
    await new Promise((r) => setTimeout(r, 50));

  const check = await fetch(targets.gateway);
  if (check.status !== 200 || (await check.text()) !== '{"ok":true}')
    throw new Error(`the gateway does not answer the no-op function (HTTP ${check.status})`);

  console.error('  warming up');
  await load({ url: targets.bare, connections: CONNECTIONS, durationSeconds: 2 });
  await load({ url: targets.gateway, connections: CONNECTIONS, durationSeconds: 2 });

  console.error('  full load: bare server');
  const bareMax = await load({
    url: targets.bare,
    connections: CONNECTIONS,
    durationSeconds: DURATION,
  });
  console.error('  full load: gateway');
  const gatewayMax = await load({
    url: targets.gateway,
    connections: CONNECTIONS,
    durationSeconds: DURATION,
  });
  const rate = Math.floor(gatewayMax.requestsPerSecond / 2);
  console.error(`  half load (${rate} req/s): bare server`);
  const bareHalf = await load({
    url: targets.bare,
    connections: 8,
    durationSeconds: DURATION,
    overallRate: rate,
  });
  console.error(`  half load (${rate} req/s): gateway`);
  const gatewayHalf = await load({
    url: targets.gateway,
    connections: 8,
    durationSeconds: DURATION,
    overallRate: rate,
  });

  const row = (label: string, r: LoadResult) => [
    label,
    r.requestsPerSecond.toFixed(0),
    ms(median(r.latenciesMs), 2),
    ms(percentile(r.latenciesMs, 99), 2),
    String(r.errors + r.non2xx),
  ];
  console.log(
    `\n## Invocation through the gateway against a bare Node server (${DURATION} s per run)\n`,
  );
  console.log(
    table(
      ['run', 'req/s', 'p50', 'p99', 'errors'],
      [
        row(`bare, full load (${CONNECTIONS} connections)`, bareMax),
        row(`gateway, full load (${CONNECTIONS} connections)`, gatewayMax),
        row(`bare, ${rate} req/s`, bareHalf),
        row(`gateway, ${rate} req/s`, gatewayHalf),
      ],
    ),
  );
  console.log('');
  console.log(
    table(
      ['measure', 'value', 'target'],
      [
        [
          'throughput ratio (gateway / bare)',
          (gatewayMax.requestsPerSecond / bareMax.requestsPerSecond).toFixed(2),
          '>= 0.40',
        ],
        [
          'added latency p50 at half load',
          ms(median(gatewayHalf.latenciesMs) - median(bareHalf.latenciesMs), 2),
          '<= 0.5 ms',
        ],
        [
          'added latency p99 at half load',
          ms(percentile(gatewayHalf.latenciesMs, 99) - percentile(bareHalf.latenciesMs, 99), 2),
          '<= 3 ms',
        ],
      ],
    ),
  );
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator, gateway, sidecar and function share it.`,
  );
} finally {
  for (const stop of stops.reverse()) await stop();
  await system.stop();
}
