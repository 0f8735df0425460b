import { describe, expect, test } from 'vitest';
import type { QueueTrigger } from '../kube/api/roost.ts';
import { queueTriggerDemand } from './queue-demand.ts';

function trigger(
  name: string,
  target: string,
  lag: number | undefined,
  spec: Partial<QueueTrigger['spec']> = {},
): QueueTrigger {
  return {
    metadata: { name, namespace: 'team' },
    spec: {
      source: { rabbitmq: { connectionSecretRef: { name: 's', key: 'url' }, queue: 'q' } },
      target: { name: target },
      ...spec,
    },
    status: lag === undefined ? undefined : { lag },
  };
}

describe('queueTriggerDemand', () => {
  test.each([
    {
      what: 'one message waiting wakes a function at zero',
      triggers: [trigger('a', 'fn', 1)],
      want: [['team/fn', 1]],
    },
    {
      what: 'one batch per batchSize messages',
      triggers: [trigger('a', 'fn', 25, { batchSize: 10, maxConcurrency: 5 })],
      want: [['team/fn', 3]],
    },
    {
      what: 'at most maxConcurrency batches',
      triggers: [trigger('a', 'fn', 10_000, { batchSize: 10, maxConcurrency: 4 })],
      want: [['team/fn', 4]],
    },
    {
      what: 'no lag, no demand',
      triggers: [trigger('a', 'fn', 0), trigger('b', 'fn', undefined)],
      want: [],
    },
    {
      what: 'a disabled trigger is no demand',
      triggers: [trigger('a', 'fn', 50, { enabled: false })],
      want: [],
    },
    {
      what: 'two triggers of one function add up',
      triggers: [trigger('a', 'fn', 5), trigger('b', 'fn', 5), trigger('c', 'other', 30)],
      want: [
        ['team/fn', 2],
        ['team/other', 2],
      ],
    },
  ])('$what', ({ triggers, want }) => {
    expect([...queueTriggerDemand(triggers)]).toEqual(want);
  });
});
