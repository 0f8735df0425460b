import { expect, test } from 'vitest';
import { extraObjectView } from './extra-objects.ts';

test('a route reads as its kind of address, its split and why it is not ready', () => {
  const view = extraObjectView('SandboxRoute', {
    metadata: { namespace: 'shop', name: 'beta' },
    spec: {
      deployment: 'cart',
      targets: [
        { revision: 3, percent: 90 },
        { latestRevision: true, percent: 10, tag: 'canary' },
      ],
    },
    status: {
      traffic: '3=90,4=10(canary)',
      targets: [
        { revision: 3, replicaSet: 'cart-3', percent: 90, readySandboxes: 2 },
        { revision: 4, replicaSet: 'cart-4', percent: 10, tag: 'canary' },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionNotReady',
          message: 'revision 4 has no ready Sandbox',
          lastTransitionTime: '2026-11-26T00:00:00Z',
        },
      ],
    },
  } as never);
  expect(view).toEqual({
    kind: 'SandboxRoute',
    namespace: 'shop',
    name: 'beta',
    function: 'cart',
    summary: 'alias @beta · traffic 3=90,4=10(canary)',
    ready: false,
    reason: 'RevisionNotReady: revision 4 has no ready Sandbox',
    targets: [
      { revision: 3, percent: 90 },
      { latestRevision: true, percent: 10, tag: 'canary' },
    ],
    split: [
      { revision: 3, percent: 90, readySandboxes: 2 },
      { revision: 4, percent: 10, tag: 'canary' },
    ],
  });
  const defaultRoute = extraObjectView('SandboxRoute', {
    metadata: { namespace: 'shop', name: 'cart' },
    spec: { deployment: 'cart', targets: [] },
  } as never);
  expect(defaultRoute.summary).toBe('default route · not resolved yet');
  expect(defaultRoute.ready).toBeUndefined();
});

test('a cron trigger reads as its schedule and its target with the alias', () => {
  const view = extraObjectView('CronTrigger', {
    metadata: { namespace: 'shop', name: 'nightly' },
    spec: {
      schedule: '0 2 * * *',
      timeZone: 'Europe/Berlin',
      target: { name: 'report', alias: 'stable' },
      suspend: true,
    },
    status: { conditions: [{ type: 'Scheduled', status: 'True', reason: 'Valid', message: '' }] },
  } as never);
  expect(view).toMatchObject({
    function: 'report',
    summary: '0 2 * * * (Europe/Berlin) · to report@stable · suspended · not run yet',
    ready: true,
  });
});

test('a queue trigger reads as its broker, queue, target and lag; an unknown kind by its target', () => {
  expect(
    extraObjectView('QueueTrigger', {
      metadata: { namespace: 'shop', name: 'orders' },
      spec: { source: { rabbitmq: { queue: 'orders' } }, target: { name: 'fulfil' } },
      status: { lag: 12 },
    } as never),
  ).toMatchObject({ function: 'fulfil', summary: 'rabbitmq orders · to fulfil · lag 12' });
  expect(
    extraObjectView('KafkaTrigger', {
      metadata: { namespace: 'shop', name: 'k' },
      spec: { target: { name: 'fulfil' } },
    } as never),
  ).toMatchObject({ function: 'fulfil', summary: 'to fulfil' });
});
