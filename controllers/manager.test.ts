// The manager against the real API server of the test run: a component that
// fails while leading ends the term for every component and hands the Lease
// back, and nothing a component sends after the term reaches the server.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ComponentFailedError, runManager } from './manager.ts';
import { ConfigMaps, Leases } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Component, ComponentContext } from '../kube/component.ts';
import { isCancelled } from '../kube/errors.ts';
import { LeaderWorkFailedError } from '../kube/leader-election.ts';
import { createLogger } from '../lib/log.ts';
import { adminClient, createNamespace } from '../test/support/cluster.ts';

let client: KubeClient;
let namespace: string;
const log = createLogger('manager-test');

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'manager');
});

afterAll(() => client?.close());

test('a component that fails ends the term for all, hands the Lease back, and runManager rejects', async () => {
  let steady: ComponentContext | undefined;
  let lateWrite: unknown;
  const steadyComponent: Component = {
    name: 'steady',
    setup: (context) => {
      steady = context;
      return {
        run: () =>
          new Promise<void>((resolve) =>
            context.signal.addEventListener(
              'abort',
              () => {
                // A write after the term: it must fail without being sent.
                context.client
                  .create(ConfigMaps, { metadata: { namespace, name: 'late' }, data: {} })
                  .then(
                    () => (lateWrite = 'sent'),
                    (err: unknown) => (lateWrite = err),
                  )
                  .finally(resolve);
              },
              { once: true },
            ),
          ),
      };
    },
  };
  const crashing: Component = {
    name: 'crashing',
    setup: () => ({
      run: async () => {
        await new Promise((r) => setTimeout(r, 300));
        throw new Error('boom');
      },
    }),
  };
  const err = await runManager(
    {
      client,
      components: [steadyComponent, crashing],
      log,
      namespace,
      lease: {
        namespace,
        name: 'manager',
        identity: 'm',
        durationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
      },
    },
    new AbortController().signal,
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LeaderWorkFailedError);
  const cause = (err as Error).cause;
  expect(cause).toBeInstanceOf(ComponentFailedError);
  expect((cause as ComponentFailedError).component).toBe('crashing');
  expect(steady!.signal.aborted).toBe(true);
  expect(isCancelled(lateWrite)).toBe(true);
  await expect(client.get(ConfigMaps, { namespace, name: 'late' })).rejects.toThrow(/not found/);
  const lease = await client.get(Leases, { namespace, name: 'manager' });
  expect(lease.spec.holderIdentity).toBe('');
});
