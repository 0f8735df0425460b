// The consumer's rules, against a small in-memory source: batches of
// batchSize, at most maxConcurrency in flight, failed messages retried with a
// doubling back-off and dead-lettered after maxRetries, a batch the function
// never saw sent again without using up a try, and a lost connection
// reconnected. The brokers themselves are in test/queue-trigger.test.ts.
import { describe, expect, test } from 'vitest';
import { createLogger } from '../lib/log.ts';
import type { QueueTrigger } from '../kube/api/roost.ts';
import { TriggerConsumer } from './consumer.ts';
import { BrokerUnreachableError } from './errors.ts';
import type { InvokeResult } from './invoker.ts';
import type { ConsumeOptions, DeadLetterReason, QueueSource, SourceMessage } from './source.ts';

class FakeSource implements QueueSource {
  readonly kind = 'fake';
  readonly queueName = 'q';
  deliver: ((m: SourceMessage) => void) | undefined;
  lose: ((err: Error) => void) | undefined;
  options: ConsumeOptions | undefined;
  readonly acked: string[] = [];
  readonly retried: { id: string; delayMs: number }[] = [];
  readonly dead: { id: string; reason: DeadLetterReason }[] = [];

  async consume(
    onMessage: (m: SourceMessage) => void,
    onLost: (err: Error) => void,
    options: ConsumeOptions,
  ) {
    this.deliver = onMessage;
    this.lose = onLost;
    this.options = options;
  }
  send(id: string, failedTries = 0) {
    this.deliver!({ id, failedTries, record: { id } });
  }
  async ack(m: SourceMessage) {
    this.acked.push(m.id);
  }
  async retry(m: SourceMessage, delayMs: number) {
    this.retried.push({ id: m.id, delayMs });
  }
  async deadLetter(m: SourceMessage, reason: DeadLetterReason) {
    this.dead.push({ id: m.id, reason });
  }
  async lag() {
    return 0;
  }
  makeEvent(messages: SourceMessage[]) {
    return { ids: messages.map((m) => m.id) };
  }
  async close() {}
}

const trigger = (spec: Partial<QueueTrigger['spec']>): QueueTrigger => ({
  metadata: { name: 't', namespace: 'ns' },
  spec: { source: { nats: { stream: 'S', durable: 'd' } }, target: { name: 'fn' }, ...spec },
});

const until = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

function start(
  spec: Partial<QueueTrigger['spec']>,
  invoke: (event: { ids: string[] }) => Promise<InvokeResult>,
  sources: FakeSource[] = [new FakeSource()],
) {
  let opened = 0;
  const consumer = new TriggerConsumer({
    trigger: trigger(spec),
    open: async () => {
      const source = sources[Math.min(opened++, sources.length - 1)]!;
      return source;
    },
    invoke: (event) => invoke(event as { ids: string[] }),
    log: createLogger('test'),
    maxBackoffMs: 20,
  });
  consumer.start();
  return consumer;
}

describe('TriggerConsumer', () => {
  test('prefetch is batchSize × maxConcurrency; batches are full when messages wait, at most maxConcurrency at once', async () => {
    const source = new FakeSource();
    const batches: string[][] = [];
    let inFlight = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const consumer = start(
      { batchSize: 3, maxConcurrency: 2 },
      async ({ ids }) => {
        batches.push(ids);
        most = Math.max(most, ++inFlight);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
        return {};
      },
      [source],
    );
    await until(() => source.deliver !== undefined);
    expect(source.options?.prefetch).toBe(6);
    for (let i = 0; i < 9; i++) source.send(`m${i}`);
    await until(() => batches.length === 2);
    expect(batches).toEqual([
      ['m0', 'm1', 'm2'],
      ['m3', 'm4', 'm5'],
    ]);
    release.shift()!();
    await until(() => batches.length === 3);
    expect(batches[2]).toEqual(['m6', 'm7', 'm8']);
    while (release.length) release.shift()!();
    await until(() => source.acked.length === 9);
    expect(most).toBe(2);
    expect(consumer.takeCounts()).toEqual({ delivered: 9, failed: 0, deadLettered: 0 });
    await consumer.stop();
  });

  test('a partial batch: the failed are retried with a doubling back-off, then dead-lettered; the rest acked', async () => {
    const source = new FakeSource();
    const consumer = start(
      { batchSize: 3, maxRetries: 2, retryDelaySeconds: 1 },
      async () => ({ batchItemFailures: ['a', 'b', 'c'].slice(0, 2) }),
      [source],
    );
    await until(() => source.deliver !== undefined);
    source.send('a', 0);
    source.send('b', 2);
    source.send('c', 0);
    await until(() => source.acked.length + source.retried.length + source.dead.length === 3);
    expect(source.acked).toEqual(['c']);
    expect(source.retried).toEqual([{ id: 'a', delayMs: 1000 }]);
    expect(source.dead).toEqual([
      { id: 'b', reason: { tries: 3, error: 'listed in batchItemFailures' } },
    ]);
    expect(consumer.takeCounts()).toEqual({ delivered: 1, failed: 2, deadLettered: 1 });
    await consumer.stop();
  });

  test('a function error fails the whole batch; an unknown id in batchItemFailures does too', async () => {
    const source = new FakeSource();
    const answers: InvokeResult[] = [{ error: 'Error: boom' }, { batchItemFailures: ['nope'] }];
    const consumer = start(
      { batchSize: 2, maxRetries: 3, retryDelaySeconds: 2 },
      async () => answers.shift()!,
      [source],
    );
    await until(() => source.deliver !== undefined);
    source.send('x', 1);
    source.send('y', 0);
    await until(() => source.retried.length === 2);
    source.send('z', 0);
    source.send('w', 0);
    await until(() => source.retried.length === 4);
    expect(source.retried).toEqual([
      { id: 'x', delayMs: 4000 },
      { id: 'y', delayMs: 2000 },
      { id: 'z', delayMs: 2000 },
      { id: 'w', delayMs: 2000 },
    ]);
    expect(source.acked).toEqual([]);
    await consumer.stop();
  });

  test('a batch the function never saw is sent again and uses up no try', async () => {
    const source = new FakeSource();
    let calls = 0;
    const consumer = start(
      { batchSize: 1, maxRetries: 0 },
      async () => {
        if (++calls < 3) throw new Error('gateway 503');
        return {};
      },
      [source],
    );
    await until(() => source.deliver !== undefined);
    source.send('m');
    await until(() => source.acked.length === 1);
    expect(calls).toBe(3);
    expect(source.dead).toEqual([]);
    expect(consumer.lastError?.message).toBe('gateway 503');
    await consumer.stop();
  });

  test('a lost connection is reported and reconnected; what waited in a batch is left to the broker', async () => {
    const first = new FakeSource();
    const second = new FakeSource();
    const invoked: string[][] = [];
    const consumer = start(
      { batchSize: 5, maxBatchingWindowSeconds: 60 },
      async ({ ids }) => (invoked.push(ids), {}),
      [first, second],
    );
    await until(() => first.deliver !== undefined);
    expect(consumer.state).toEqual({ ready: true });
    first.send('waiting');
    first.lose!(new BrokerUnreachableError('The connection to the RabbitMQ broker was lost'));
    await until(() => second.deliver !== undefined);
    await until(() => consumer.state?.ready === true);
    expect(consumer.lastError?.message).toBe('The connection to the RabbitMQ broker was lost');
    second.send('again');
    for (let i = 0; i < 4; i++) second.send(`n${i}`);
    await until(() => invoked.length === 1);
    expect(invoked).toEqual([['again', 'n0', 'n1', 'n2', 'n3']]);
    await consumer.stop();
  });

  test('an open that fails is retried with back-off and says why', async () => {
    let tries = 0;
    const source = new FakeSource();
    const consumer = new TriggerConsumer({
      trigger: trigger({}),
      open: async () => {
        if (++tries < 3) throw new BrokerUnreachableError('Cannot reach the NATS server');
        return source;
      },
      invoke: async () => ({}),
      log: createLogger('test'),
      maxBackoffMs: 20,
    });
    consumer.start();
    await until(() => tries >= 2);
    await until(() => consumer.state?.ready === true);
    expect(tries).toBe(3);
    expect(consumer.lastError?.message).toBe('Cannot reach the NATS server');
    await consumer.stop();
  });
});
