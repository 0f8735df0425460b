// CronTriggers as a user meets them: a schedule fires on time (lateness
// measured and printed), each firing an event through the durable queue in
// EventBridge's shape with an Event on the trigger; Forbid skips while a run
// is going; Replace withdraws a run still queued; suspend stops it; a leader failover neither skips nor doubles a
// time; a bad schedule is refused naming the field.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CronTriggers, Events, Leases, SandboxDeployments } from '../kube/api/resources.ts';
import type { CronTrigger } from '../kube/api/roost.ts';
import { KubeApiError } from '../kube/errors.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startController, type ControllerProcess } from './support/controller-process.ts';
import { deployNodeFunction } from './support/deployments.ts';
import { startEventSink, type EventSink } from './support/event-sink.ts';
import { roost, systemEnv } from './support/roost-cli.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const client = adminClient();
let system: RoostSystem;
let standby: ControllerProcess | undefined;
let namespace: string;
let sink: EventSink;

/** Short leases, so that a failover takes seconds. */
const LEASE_ARGS = ['--lease-duration=3s', '--renew-deadline=2s', '--retry-period=500ms'];

/** The function posts its event to the sink under the trigger's name. */
const TICK = `export const handler = async (event) => {
  if (event.detail?.sleepMs) await new Promise((r) => setTimeout(r, event.detail.sleepMs));
  const trigger = event.resources[0].split('/')[1];
  await fetch(process.env.SINK + '/' + trigger, { method: 'POST', body: JSON.stringify(event) });
  return 'ok';
};`;

beforeAll(async () => {
  sink = await startEventSink();
  namespace = await createNamespace(client, 'cron');
  system = await startRoostSystem({
    namespace,
    hosts: [{ name: 'host-1' }, { name: 'host-2' }],
    controllerArgs: LEASE_ARGS,
  });
  await deployNodeFunction(client, {
    namespace,
    name: 'tick',
    source: TICK,
    env: { SINK: sink.url },
  });
}, 120_000);

afterAll(async () => {
  await standby?.stop();
  await system?.stop();
  await sink?.stop();
});

async function createTrigger(name: string, spec: Partial<CronTrigger['spec']> = {}) {
  return client.create(CronTriggers, {
    metadata: { name, namespace },
    spec: { schedule: '@every 2s', target: { name: 'tick' }, ...spec },
  });
}

const scheduledTimes = (trigger: string) =>
  sink.of(trigger).map((r) => Date.parse((JSON.parse(r.body) as { time: string }).time));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('a trigger @every 2s', () => {
  test('fires on time, each time one EventBridge-shaped event with an Event on the trigger', async () => {
    await createTrigger('every2s', { payload: { hello: 'cron' } });
    await eventually(() => sink.of('every2s').length >= 8, {
      what: '8 firings',
      timeoutMs: 40_000,
      intervalMs: 200,
    });
    const records = sink.of('every2s');
    const event = JSON.parse(records[0]!.body) as Record<string, unknown>;
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'roost.cron',
      account: namespace,
      region: 'roost',
      resources: [`roost:${namespace}:crontrigger/every2s`],
      detail: { hello: 'cron' },
    });
    const times = scheduledTimes('every2s');
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(2000);
    const lateness = records.map((r, i) => r.at - times[i]!);
    const p50 = percentile(lateness, 50);
    const p99 = percentile(lateness, 99);
    console.log(
      `cron @every 2s: lateness from scheduled time to the function running, over ${lateness.length} firings: p50 ${p50} ms, p99 ${p99} ms`,
    );
    expect(p50).toBeLessThan(1000);

    const fired = await client.list(Events, {
      namespace,
      fieldSelector: 'involvedObject.name=every2s',
    });
    expect(fired.items.filter((e) => e.reason === 'Fired').length).toBeGreaterThanOrEqual(1);
    const trigger = await client.get(CronTriggers, { namespace, name: 'every2s' });
    expect(trigger.status?.lastScheduleTime).toBeDefined();
    expect(Date.parse(trigger.status!.nextScheduleTime!)).toBeGreaterThan(
      Date.parse(trigger.status!.lastScheduleTime!),
    );
    await eventually(
      async () =>
        (await client.get(CronTriggers, { namespace, name: 'every2s' })).status?.lastSuccessfulTime,
      { what: 'a success to be recorded' },
    );

    const listed = await roost(['get', 'triggers', '-n', namespace], { env: systemEnv(system) });
    expect(listed.stdout).toMatch(/^NAME\s+TYPE\s+SCHEDULE\s+TARGET\s+SUSPEND/);
    expect(listed.stdout).toMatch(/every2s\s+cron\s+@every 2s\s+tick\s+false/);
  }, 60_000);

  test('suspend stops it, and it resumes without running the times it missed', async () => {
    await client.patch(CronTriggers, { namespace, name: 'every2s' }, { spec: { suspend: true } });
    await new Promise((r) => setTimeout(r, 1000));
    const before = sink.of('every2s').length;
    await new Promise((r) => setTimeout(r, 5000));
    expect(sink.of('every2s').length).toBe(before);
    const trigger = await client.get(CronTriggers, { namespace, name: 'every2s' });
    expect(trigger.status?.conditions?.find((c) => c.type === 'Scheduled')).toMatchObject({
      status: 'False',
      reason: 'Suspended',
    });
    const suspendedAt = Date.now();
    await client.patch(CronTriggers, { namespace, name: 'every2s' }, { spec: { suspend: false } });
    await eventually(() => sink.of('every2s').length > before, { what: 'it to fire again' });
    // Nothing scheduled during the suspension ran afterwards.
    expect(
      scheduledTimes('every2s')
        .slice(before)
        .every((t) => t >= suspendedAt - 1000),
    ).toBe(true);
    await client.patch(CronTriggers, { namespace, name: 'every2s' }, { spec: { suspend: true } });
  }, 30_000);
});

test('Forbid skips a time while the run before it is still going, with an Event saying so', async () => {
  await createTrigger('forbid', { concurrencyPolicy: 'Forbid', payload: { sleepMs: 5000 } });
  await eventually(() => sink.of('forbid').length >= 3, {
    what: '3 runs of a 5 s function',
    timeoutMs: 40_000,
    intervalMs: 250,
  });
  const times = scheduledTimes('forbid');
  // A run takes 5 s, so the next two 2 s ticks are skipped: runs are 6 s apart.
  for (let i = 1; i < times.length; i++)
    expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(6000);
  const skipped = await client.list(Events, {
    namespace,
    fieldSelector: 'involvedObject.name=forbid',
  });
  expect(skipped.items.some((e) => e.reason === 'Skipped' && e.message?.includes('Forbid'))).toBe(
    true,
  );
  await client.patch(CronTriggers, { namespace, name: 'forbid' }, { spec: { suspend: true } });
}, 60_000);

test('Replace withdraws a run still waiting in the queue: only the newest time runs once the function can', async () => {
  // No Sandbox and no autoscaler: every run waits in the queue.
  await deployNodeFunction(client, {
    namespace,
    name: 'paused',
    source: TICK,
    replicas: 0,
    env: { SINK: sink.url },
  });
  await createTrigger('replace', { target: { name: 'paused' }, concurrencyPolicy: 'Replace' });
  const replaced = await eventually(
    async () => {
      const events = await client.list(Events, {
        namespace,
        fieldSelector: 'involvedObject.name=replace',
      });
      const withdrawn = events.items.filter(
        (e) => e.reason === 'Replaced' && e.message?.includes('withdrawn from the queue'),
      );
      return withdrawn.length >= 2 ? withdrawn : undefined;
    },
    { what: 'two runs withdrawn', timeoutMs: 30_000, intervalMs: 250 },
  );
  await client.patch(CronTriggers, { namespace, name: 'replace' }, { spec: { suspend: true } });
  const withdrawnTimes = new Set(
    replaced.map((e) => Date.parse(/The run at (\S+) gives way/.exec(e.message!)![1]!)),
  );
  const lastTime = Date.parse(
    (await client.get(CronTriggers, { namespace, name: 'replace' })).status!.lastScheduleTime!,
  );
  await client.patch(
    SandboxDeployments,
    { namespace, name: 'paused' },
    { spec: { replicas: 1 } },
    { subresource: 'scale' },
  );
  await eventually(() => scheduledTimes('replace').includes(lastTime), {
    what: 'the newest run to run',
    timeoutMs: 40_000,
    intervalMs: 250,
  });
  // Room for a withdrawn run to turn up, if one were still about.
  await new Promise((r) => setTimeout(r, 3000));
  const ran = scheduledTimes('replace');
  expect(ran.filter((t) => withdrawnTimes.has(t))).toEqual([]);
  expect(ran.filter((t) => t === lastTime)).toHaveLength(1);
}, 90_000);

test('a leader failover neither skips nor doubles a scheduled time', async () => {
  standby = startController({
    namespace,
    identity: `standby-${namespace}`,
    extraArgs: [`--events-url=${system.nats.url}`, ...LEASE_ARGS],
    token: system.hosts.token,
  });
  await createTrigger('failover');
  await eventually(() => sink.of('failover').length >= 3, { what: '3 firings', timeoutMs: 30_000 });

  const lease = (await client.list(Leases, { namespace })).items.find(
    (l) =>
      l.spec?.holderIdentity === system.controller.identity ||
      l.spec?.holderIdentity === standby!.identity,
  )!;
  const leader = lease.spec!.holderIdentity === standby.identity ? standby : system.controller;
  leader.process.kill('SIGKILL');
  const killedAt = Date.now();
  await eventually(() => scheduledTimes('failover').some((t) => t > killedAt + 6000), {
    what: 'firings well after the failover',
    timeoutMs: 40_000,
    intervalMs: 250,
  });
  const times = scheduledTimes('failover');
  const unique = [...new Set(times)].sort((a, b) => a - b);
  expect(times.length, 'a scheduled time ran twice').toBe(unique.length);
  for (let i = 1; i < unique.length; i++)
    expect(
      unique[i]! - unique[i - 1]!,
      `a gap after ${new Date(unique[i - 1]!).toISOString()}`,
    ).toBe(2000);
  await client.patch(CronTriggers, { namespace, name: 'failover' }, { spec: { suspend: true } });
}, 90_000);

describe('bad triggers', () => {
  test('a schedule that is not cron is refused by the API server, naming spec.schedule', async () => {
    const error = await createTrigger('bad', { schedule: 'every two seconds' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toContain('spec.schedule');
    expect((error as KubeApiError).message).toContain('@every <duration>');
  });

  test('a schedule the API server lets through but cron does not, and an unknown time zone: a condition and an Event naming the field', async () => {
    await createTrigger('bad-minute', { schedule: '61 * * * *' });
    await createTrigger('bad-zone', { schedule: '@hourly', timeZone: 'Mars/Olympus' });
    for (const [name, field] of [
      ['bad-minute', 'spec.schedule'],
      ['bad-zone', 'spec.timeZone'],
    ] as const) {
      const condition = await eventually(
        async () =>
          (await client.get(CronTriggers, { namespace, name })).status?.conditions?.find(
            (c) => c.type === 'Scheduled' && c.reason === 'InvalidSchedule',
          ),
        { what: `${name} to be marked invalid` },
      );
      expect(condition.message).toContain(`${field}:`);
      const events = await client.list(Events, {
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      expect(
        events.items.some((e) => e.reason === 'InvalidSchedule' && e.message?.includes(field)),
      ).toBe(true);
    }
  });
});
