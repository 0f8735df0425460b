// npm run bench:routes — what traffic splitting costs and how well it does:
//   1. the gateway's latency and throughput for a function behind a 95/5
//      SandboxRoute against the same function without a route (the
//      baseline), interleaved rounds of autocannon in one run;
//   2. the split: 1,000 requests at 5%/95%, several times, against the
//      binomial tolerance (3 standard deviations);
//   3. a canary that fails a tenth of its requests: from its first failed
//      response to the route rolled back, and to the last request the gateway
//      sent it, under steady load.
import { cpus, totalmem } from 'node:os';
import { SandboxRoutes } from '../kube/api/resources.ts';
import type { CanaryPolicy } from '../kube/api/roost.ts';
import { countRevisions, deployVersion, waitForRevision } from '../test/support/versions.ts';
import { load } from './support/load.ts';
import { machine, median, ms, percentile, table } from './support/stats.ts';
import { startBenchSystem } from './support/system.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 5);
const SPLITS = Number(process.env.SPLITS ?? 5);
const ROLLBACKS = Number(process.env.ROLLBACKS ?? 3);
const namespace = 'default';

console.error('bench:routes: starting Roost');
const system = await startBenchSystem({ hosts: 2 });
try {
  const { client, gatewayUrl } = system;
  const url = (name: string) => `${gatewayUrl}/fn/${namespace}/${name}`;
  for (const name of ['plain', 'split', 'canary']) {
    await deployVersion(client, { namespace, name, version: 'v1', replicas: 2 });
    await waitForRevision(client, { namespace, name, revision: 1 });
  }
  // A route naming revision 1 before revision 2 exists keeps it (the history limit is 0).
  await client.create(SandboxRoutes, {
    metadata: { name: 'split', namespace },
    spec: { deployment: 'split', targets: [{ revision: 1, percent: 100 }] },
  });
  await deployVersion(client, { namespace, name: 'split', version: 'v2' });
  await waitForRevision(client, { namespace, name: 'split', revision: 2 });
  await client.patch(
    SandboxRoutes,
    { namespace, name: 'split' },
    {
      spec: {
        targets: [
          { revision: 1, percent: 5 },
          { latestRevision: true, percent: 95 },
        ],
      },
    },
  );
  for (;;) {
    const seen = await countRevisions(url('split'), { requests: 100, concurrency: 4 });
    if ((seen.byRevision.get(1) ?? 0) > 0 && (seen.byRevision.get(2) ?? 0) > 0) break;
  }

  // 1. Routing overhead, interleaved.
  const latency: Record<string, number[]> = { plain: [], split: [] };
  const rps: Record<string, number[]> = { plain: [], split: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of ['plain', 'split']) {
      const result = await load({ url: url(name), connections: 8, durationSeconds: SECONDS });
      if (result.errors + result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} non-2xx`);
      latency[name]!.push(...result.latenciesMs);
      rps[name]!.push(result.requestsPerSecond);
    }
    console.error(`  round ${round + 1}/${ROUNDS} of routing overhead`);
  }

  // 2. The split, 1,000 requests at a time.
  const shares: number[] = [];
  for (let i = 0; i < SPLITS; i++) {
    const seen = await countRevisions(url('split'), { requests: 1000, concurrency: 8 });
    if (seen.failed > 0) throw new Error(`split: ${seen.failed} failed`);
    shares.push((seen.byRevision.get(1) ?? 0) / 10);
  }
  const sd = Math.sqrt(1000 * 0.05 * 0.95) / 10;

  // 3. Rollback of a canary failing a tenth of its requests.
  const policy: CanaryPolicy = {
    steps: [{ percent: 20, intervalSeconds: 60 }],
    maxErrorPercent: 5,
    minRequests: 10,
  };
  await client.create(SandboxRoutes, {
    metadata: { name: 'canary', namespace },
    spec: { deployment: 'canary', targets: [{ revision: 1, percent: 100 }], canary: policy },
  });
  const toRolledBack: number[] = [];
  const toLastCanaryRequest: number[] = [];
  for (let trial = 0; trial < ROLLBACKS; trial++) {
    const revision = trial + 2;
    const done = { stop: false };
    const loaded = countRevisions(url('canary'), {
      requests: 1_000_000,
      concurrency: 4,
      until: () => done.stop,
    });
    const started = performance.now();
    await deployVersion(client, {
      namespace,
      name: 'canary',
      version: `v${revision}`,
      failEvery: 10,
    });
    let rolledBackAt = 0;
    for (;;) {
      const route = await client.get(SandboxRoutes, { namespace, name: 'canary' });
      const canary = route.status?.canary;
      if (canary?.revision === revision && canary.phase === 'RolledBack') {
        rolledBackAt = performance.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 2000));
    done.stop = true;
    const seen = await loaded;
    const firstFailure = seen.log.find((r) => r.status !== 200 && r.revision === revision);
    const lastCanary = seen.log.filter((r) => r.revision === revision).at(-1);
    if (!firstFailure || !lastCanary) throw new Error(`trial ${trial}: the canary saw no failure`);
    toRolledBack.push(rolledBackAt - firstFailure.at);
    toLastCanaryRequest.push(lastCanary.at - firstFailure.at);
    console.error(`  rollback ${trial + 1}/${ROLLBACKS}: ${ms(rolledBackAt - firstFailure.at, 0)}`);
  }

  console.log(
    `\nbench:routes on ${machine()} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB); ${ROUNDS} interleaved rounds of ${SECONDS} s, 8 connections\n`,
  );
  console.log(
    table(
      ['function', 'requests/s (median round)', 'p50', 'p99'],
      ['plain', 'split'].map((name) => [
        name === 'plain' ? 'no route (baseline)' : 'default route 5/95 over two revisions',
        median(rps[name]!).toFixed(0),
        ms(percentile(latency[name]!, 50), 2),
        ms(percentile(latency[name]!, 99), 2),
      ]),
    ),
  );
  console.log(
    `\nthroughput ratio split/plain: ${(median(rps.split!) / median(rps.plain!)).toFixed(2)}x\n`,
  );
  console.log(
    table(
      [
        '1,000 requests at 5%',
        'share of revision 1',
        'within 3 sd (±' + (3 * sd).toFixed(1) + ' points)',
      ],
      shares.map((share, i) => [
        String(i + 1),
        `${share.toFixed(1)}%`,
        Math.abs(share - 5) <= 3 * sd ? 'yes' : 'NO',
      ]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['canary failing 10%, 4 clients', 'median', 'max'],
      [
        [
          'first failed response → route RolledBack',
          ms(median(toRolledBack), 0),
          ms(Math.max(...toRolledBack), 0),
        ],
        [
          'first failed response → last request to the canary',
          ms(median(toLastCanaryRequest), 0),
          ms(Math.max(...toLastCanaryRequest), 0),
        ],
      ],
    ),
  );
} finally {
  await system.stop();
}
