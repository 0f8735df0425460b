// Leader election against the real API server of the test run.
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  LeaderElector,
  LeaderElectionConfigError,
  LeaderWorkFailedError,
} from './leader-election.ts';
import { Leases } from './api/resources.ts';
import type { KubeClient } from './client.ts';
import { createLogger } from '../lib/log.ts';
import { adminClient, createNamespace, eventually } from '../test/support/cluster.ts';

let client: KubeClient;
let namespace: string;
const log = createLogger('leader-election-test');
const fast = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'leader');
});

afterAll(() => client?.close());

function candidate(name: string, identity: string) {
  const leading: AbortSignal[] = [];
  const elector = new LeaderElector({
    client,
    namespace,
    name,
    identity,
    ...fast,
    log,
    onStartedLeading: (signal) => void leading.push(signal),
  });
  const stop = new AbortController();
  const running = elector.run(stop.signal);
  return {
    elector,
    leading,
    /** True while this candidate holds leadership. */
    get acting() {
      return leading.some((s) => !s.aborted);
    },
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

test.each([
  { renewDeadlineMs: 3000, retryPeriodMs: 300, says: 'renewDeadlineMs (3000) must be below' },
  { renewDeadlineMs: 2000, retryPeriodMs: 2000, says: 'retryPeriodMs (2000) must be below' },
])('a configuration that could let two leaders overlap is refused: $says', (row) => {
  const make = () =>
    new LeaderElector({
      client,
      namespace,
      name: 'x',
      leaseDurationMs: 3000,
      renewDeadlineMs: row.renewDeadlineMs,
      retryPeriodMs: row.retryPeriodMs,
      log,
      onStartedLeading: () => {},
    });
  expect(make).toThrow(LeaderElectionConfigError);
  expect(make).toThrow(row.says);
});

test('of two candidates one leads; when it stops, it releases and the other leads at once', async () => {
  const a = candidate('pair', 'a');
  await eventually(() => a.acting, { what: 'a to lead' });
  const b = candidate('pair', 'b');
  try {
    // b keeps trying for longer than a lease but never leads while a renews.
    await new Promise((r) => setTimeout(r, fast.leaseDurationMs + 1000));
    expect(b.acting).toBe(false);
    expect((await client.get(Leases, { namespace, name: 'pair' })).spec.holderIdentity).toBe('a');

    const stoppedAt = Date.now();
    await a.stop();
    expect(a.acting).toBe(false);
    await eventually(() => b.acting, { what: 'b to lead' });
    // Released, not expired: well under a lease duration.
    expect(Date.now() - stoppedAt).toBeLessThan(fast.leaseDurationMs);
    const lease = await client.get(Leases, { namespace, name: 'pair' });
    expect(lease.spec.holderIdentity).toBe('b');
    expect(lease.spec.leaseTransitions).toBe(0);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a Lease left by a holder that vanished is taken only after it expires', async () => {
  await client.create(Leases, {
    metadata: { namespace, name: 'ghost' },
    spec: {
      holderIdentity: 'ghost',
      leaseDurationSeconds: 2,
      renewTime: new Date().toISOString().replace('Z', '000Z'),
    },
  });
  const started = Date.now();
  const c = candidate('ghost', 'c');
  try {
    await eventually(() => c.acting, { what: 'c to lead', timeoutMs: 10_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const lease = await client.get(Leases, { namespace, name: 'ghost' });
    expect(lease.spec.holderIdentity).toBe('c');
    expect(lease.spec.leaseTransitions).toBe(1);
  } finally {
    await c.stop();
  }
});

test('a leader whose Lease is taken from it stops acting at once', async () => {
  const d = candidate('stolen', 'd');
  try {
    await eventually(() => d.acting, { what: 'd to lead' });
    const lease = await client.get(Leases, { namespace, name: 'stolen' });
    await client.replace(Leases, {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: 'thief',
        leaseDurationSeconds: 60,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });
    const stolenAt = Date.now();
    await eventually(() => !d.acting, { what: 'd to stop acting' });
    // Within a retry period or two, well before its own lease would have run out.
    expect(Date.now() - stolenAt).toBeLessThan(fast.renewDeadlineMs);
    expect(d.elector.isLeader).toBe(false);
  } finally {
    await d.stop();
  }
});

test('a leader whose work fails ends its term at once, hands the Lease back, and run() rejects', async () => {
  const stop = new AbortController();
  const failing = new LeaderElector({
    client,
    namespace,
    name: 'failing',
    identity: 'e',
    ...fast,
    log,
    onStartedLeading: async () => {
      await new Promise((r) => setTimeout(r, 200));
      throw new Error('the scheduler crashed');
    },
  });
  const outcome = failing.run(stop.signal).then(
    () => 'resolved',
    (err: unknown) => err,
  );
  // The standby campaigns once the failing one leads, so that it is the one to fail.
  await eventually(() => failing.isLeader, { what: 'e to lead' });
  const f = candidate('failing', 'f');
  try {
    const err = await outcome;
    expect(err).toBeInstanceOf(LeaderWorkFailedError);
    expect((err as LeaderWorkFailedError).message).toContain('the scheduler crashed');
    expect(failing.isLeader).toBe(false);
    // Handed back, not left to expire: the standby leads well within a lease duration.
    const failedAt = Date.now();
    await eventually(() => f.acting, { what: 'f to lead' });
    expect(Date.now() - failedAt).toBeLessThan(fast.leaseDurationMs);
  } finally {
    stop.abort();
    await f.stop();
  }
});
