// Functions that misbehave inside the one shared JVM: System.exit and
// Runtime.halt, an endless loop, a loop that will not even be stopped, running
// out of heap, and a thread left running. In every case the JVM survives, a
// neighbour function keeps answering throughout, and the reason is reported
// (in the invocation's error, a SandboxFailure event, or the Unload answer).
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { InvokeResponse, JavaBridge } from '../sidecar/java/bridge-process.ts';
import {
  EventRecorder,
  alive,
  fixtureJar,
  invokeJson,
  resultOf,
  startTestBridge,
  requireBuiltJava,
} from './support/java-bridge.ts';
import { eventually } from './support/cluster.ts';

// Without the built jars every test here would fail obscurely: fail the file at once, with the fix.
requireBuiltJava();

const NEIGHBOUR = 'abuse/neighbour';

let bridge: JavaBridge;
let pid: number;
let events: EventRecorder;
let abuse: string;
let loads = 0;

/**
 * Calls the neighbour every 25 ms for as long as a test runs and keeps every
 * answer; a failed call is kept as its error.
 */
class Neighbour {
  readonly answers: (InvokeResponse | Error)[] = [];
  #running = true;
  readonly #loop: Promise<void>;

  constructor() {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    for (let i = 0; this.#running; i++) {
      const answer = await invokeJson(bridge.client, NEIGHBOUR, { name: `n${i}`, times: 1 }).catch(
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      this.answers.push(answer);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops calling (after a few answers at least); fails unless every answer was a good one. */
  async stopAndCheck(): Promise<void> {
    await eventually(() => this.answers.length >= 4, { what: 'four answers from the neighbour' });
    this.#running = false;
    await this.#loop;
    const bad = this.answers.filter((a) => a instanceof Error || a.error !== 'FUNCTION_ERROR_NONE');
    expect(bad, 'the neighbour must answer every call while its neighbour misbehaves').toEqual([]);
  }
}

let neighbour: Neighbour | undefined;

async function loadAbuse(handler: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const id = `abuse/${handler.split('.').pop()!.toLowerCase()}-${++loads}`;
  await bridge.client.load({
    sandboxId: id,
    jarPath: abuse,
    handler,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return id;
}

beforeAll(async () => {
  // A small heap, so running out of it takes a moment rather than gigabytes.
  bridge = await startTestBridge({ maxHeapMiB: 256 });
  pid = bridge.pid!;
  events = new EventRecorder(bridge.client);
  abuse = fixtureJar('abuse');
  await bridge.client.load({
    sandboxId: NEIGHBOUR,
    jarPath: fixtureJar('hello'),
    handler: 'com.example.Greeter',
  });
  resultOf(await invokeJson(bridge.client, NEIGHBOUR, { name: 'first' }));
});

afterEach(async () => {
  await neighbour?.stopAndCheck();
  neighbour = undefined;
  expect(alive(pid), 'the bridge JVM must survive').toBe(true);
  expect(bridge.restarts).toBe(0);
});

afterAll(async () => {
  events?.close();
  await bridge?.stop();
});

test.each([
  ['com.example.abuse.Exit', 'System.exit(3)'],
  ['com.example.abuse.Halt', 'Runtime.halt(7)'],
  ['com.example.abuse.ExitByReference', 'System.exit(4)'],
])('%s fails only its own invocation and the function stays loaded', async (handler, call) => {
  neighbour = new Neighbour();
  const id = await loadAbuse(handler);
  for (let i = 0; i < 2; i++) {
    const response = await invokeJson(bridge.client, id, {});
    expect(response.error).toBe('FUNCTION_ERROR_UNHANDLED');
    expect(response.errorType).toBe('dev.roost.bridge.guest.SystemExitError');
    expect(response.errorMessage).toContain(`${call} was called`);
    expect(response.stackTrace[0]).toMatch(new RegExp(`^${handler.replaceAll('.', '\\.')}\\.`));
  }
  await bridge.client.unload({ sandboxId: id });
});

test('an endless loop that ignores interrupts times out, is stopped, and its function answers again', async () => {
  neighbour = new Neighbour();
  const id = await loadAbuse('com.example.abuse.Spin', { timeoutMs: 400 });
  for (let i = 0; i < 2; i++) {
    const started = Date.now();
    const response = await invokeJson(bridge.client, id, {});
    expect(response.error).toBe('FUNCTION_ERROR_TIMEOUT');
    expect(response.errorMessage).toContain('timeout of 400 ms');
    expect(response.durationMs).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(5_000);
  }
  // The hard stop freed the thread: no failure, and the Sandbox is still there.
  await new Promise((r) => setTimeout(r, 2_500));
  expect(events.failures(id)).toEqual([]);
  expect(await bridge.client.unload({ sandboxId: id })).toEqual({ stoppedThreads: [] });
});

test('a function that will not stop even when hard-stopped is failed as Stuck and unloaded', async () => {
  neighbour = new Neighbour();
  const id = await loadAbuse('com.example.abuse.Stubborn', { timeoutMs: 300 });
  // It swallows ThreadDeath for 6 s, then ends by itself, so the test leaves nothing running.
  const response = await invokeJson(bridge.client, id, 6_000);
  expect(response.error).toBe('FUNCTION_ERROR_TIMEOUT');
  const failure = await events.waitForFailure(id);
  expect(failure.reason).toBe('Stuck');
  expect(failure.message).toContain('would not stop');
  // Refused while it unloads (FAILED_PRECONDITION), unknown once it is gone.
  await eventually(
    async () => {
      const after = await invokeJson(bridge.client, id, 1).catch((err: unknown) => err);
      expect(after).toMatchObject({
        code: expect.stringMatching(/^ROOST_JAVA_SANDBOX_NOT_(READY|FOUND)$/),
      });
      return (after as { code: string }).code === 'ROOST_JAVA_SANDBOX_NOT_FOUND';
    },
    { what: `${id} to be unloaded` },
  );
});

test('a constructor that outlasts its timeout fails the Load at the timeout, is stopped, and the Sandbox can be loaded again', async () => {
  neighbour = new Neighbour();
  const id = `abuse/slowstart-${++loads}`;
  const started = Date.now();
  const failure = await bridge.client
    .load({ sandboxId: id, jarPath: abuse, handler: 'com.example.abuse.SlowStart', timeoutMs: 300 })
    .catch((err: unknown) => err);
  expect(failure).toMatchObject({
    code: 'ROOST_JAVA_LOAD_TIMEOUT',
    message: expect.stringMatching(
      /Cannot load Sandbox abuse\/slowstart-\d+: creating com\.example\.abuse\.SlowStart took longer than the function's timeout of 300 ms/,
    ),
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  expect(Date.now() - started).toBeLessThan(5_000);
  // Given up for good: nothing of it is loaded, and the same id loads afresh.
  expect(await invokeJson(bridge.client, id, {}).catch((err: unknown) => err)).toMatchObject({
    code: 'ROOST_JAVA_SANDBOX_NOT_FOUND',
  });
  await bridge.client.load({ sandboxId: id, jarPath: abuse, handler: 'com.example.abuse.Exit' });
  await bridge.client.unload({ sandboxId: id });
  await eventually(async () => (await bridge.client.stats()).loadedSandboxes === 1, {
    what: 'only the neighbour to be loaded',
  });
});

test('running out of heap fails the invocation, unloads that function as OOMKilled, and gives the heap back', async () => {
  neighbour = new Neighbour();
  const id = await loadAbuse('com.example.abuse.Hog');
  const response = await invokeJson(bridge.client, id, {});
  expect(response.error).toBe('FUNCTION_ERROR_OUT_OF_MEMORY');
  expect(response.errorType).toBe('java.lang.OutOfMemoryError');
  const failure = await events.waitForFailure(id);
  expect(failure.reason).toBe('OOMKilled');
  const after = await invokeJson(bridge.client, id, {}).catch((err: unknown) => err);
  expect(after).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_NOT_FOUND' });
  // What the function held in its static list went with its loader.
  await eventually(async () => (await bridge.client.stats()).heapUsedBytes < 128 * 1024 * 1024, {
    what: 'the heap to drop back under 128 MiB',
  });
  // And the same function can be loaded again.
  const again = await loadAbuse('com.example.abuse.Exit');
  await bridge.client.unload({ sandboxId: again });
});

test('a thread the function left running is stopped at unload and reported', async () => {
  neighbour = new Neighbour();
  const id = await loadAbuse('com.example.abuse.LeaveThread');
  expect(resultOf(await invokeJson(bridge.client, id, {}))).toBe('started leaky-ticker');
  await events.waitForLog(id, (log) => log.message === 'tick 3', 'the left thread to tick');
  expect(await bridge.client.unload({ sandboxId: id })).toEqual({
    stoppedThreads: ['leaky-ticker'],
  });
  await events.waitForLog(
    id,
    (log) => log.message === 'roost: stopped 1 thread(s) the function left running: leaky-ticker',
    'the notice in the Sandbox log',
  );
  const ticks = events.logs(id).filter((log) => log.message.startsWith('tick')).length;
  await new Promise((r) => setTimeout(r, 300));
  expect(events.logs(id).filter((log) => log.message.startsWith('tick')).length).toBe(ticks);
});
