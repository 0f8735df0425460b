import { describe, expect, test } from 'vitest';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  test('a key added twice while waiting is handed out once', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  test('a key re-added while processing is handed out again only after done()', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    expect(queue.length).toBe(0);
    queue.done(key!);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('a');
  });

  test('a waiting get() receives the next key added', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add('late');
    expect(await next).toBe('late');
  });

  test('failures back off exponentially until forget()', async () => {
    const queue = new WorkQueue({ baseDelayMs: 20 });
    const started = Date.now();
    queue.addRateLimited('a');
    queue.done((await queue.get())!);
    queue.addRateLimited('a');
    await queue.get();
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(queue.failures('a')).toBe(2);
    queue.forget('a');
    expect(queue.failures('a')).toBe(0);
  });

  test('of two delays for one key, the sooner wins, whichever came first', async () => {
    const queue = new WorkQueue();
    const started = Date.now();
    queue.addAfter('a', 60_000);
    queue.addAfter('a', 30);
    queue.addAfter('a', 10_000);
    expect(await queue.get()).toBe('a');
    expect(Date.now() - started).toBeLessThan(5000);
    queue.shutDown();
  });

  test('shutDown releases waiting workers with undefined', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
  });
});
