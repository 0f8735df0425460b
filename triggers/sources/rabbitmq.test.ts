import { describe, expect, test } from 'vitest';
import { delayQueueName, isDelayQueueOf } from './rabbitmq.ts';

describe('delay queue names', () => {
  test.each([
    { name: delayQueueName('orders', 2000), queue: 'orders', ours: true },
    { name: 'orders.roost-retry.0ms', queue: 'orders', ours: true },
    // Anything else is the user's, whatever status.created says.
    { name: 'orders', queue: 'orders', ours: false },
    { name: 'orders-dead', queue: 'orders', ours: false },
    { name: 'orders.roost-retry.2000ms.keep', queue: 'orders', ours: false },
    { name: 'orders.roost-retry.ms', queue: 'orders', ours: false },
    { name: 'billing.roost-retry.2000ms', queue: 'orders', ours: false },
    { name: 'a.b.roost-retry.5ms', queue: 'a.b', ours: true },
  ])('$name is a delay queue of $queue: $ours', ({ name, queue, ours }) => {
    expect(isDelayQueueOf(name, queue)).toBe(ours);
  });
});
