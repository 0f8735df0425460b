// Invocations to the JVM bridge travel in frames on its own socket
// (`<socket>.invoke`, InvokeFrameServer) instead of gRPC unary calls: the real
// jar in a real JVM. What a peer on that socket can and cannot do, and that
// the sidecar's client falls back to gRPC when the socket is not there.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { INVOKE_HEADER, RESULT_HEADER } from '../proto/invoke-frames.ts';
import { encodeFrame, FrameReader, FrameWriter } from '../runtime-node/frames.js';
import { JavaBridgeCallError, type JavaBridge } from '../sidecar/java/bridge-process.ts';
import { eventually } from './support/cluster.ts';
import { fixtureJar, invokeJson, resultOf, startTestBridge } from './support/java-bridge.ts';

/** Loads a handler class of the hello fixture jar as a Sandbox. */
function loadFixture(
  client: JavaBridge['client'],
  sandboxId: string,
  handlerClass: 'Hello' | 'Sleeper',
  timeoutMs: number,
): Promise<unknown> {
  return client.load({
    sandboxId,
    jarPath: fixtureJar('hello'),
    handler: `com.example.${handlerClass}::handleRequest`,
    functionName: handlerClass.toLowerCase(),
    functionVersion: '1',
    memoryMib: 128,
    timeoutMs,
  });
}

/** Loads a handler class of the abuse fixture jar as a Sandbox. */
function loadAbuse(
  client: JavaBridge['client'],
  sandboxId: string,
  handlerClass: string,
  memoryMib = 128,
) {
  return client.load({
    sandboxId,
    jarPath: fixtureJar('abuse'),
    handler: `com.example.abuse.${handlerClass}::handleRequest`,
    functionName: handlerClass.toLowerCase(),
    functionVersion: '1',
    memoryMib,
    timeoutMs: 10_000,
  });
}

let bridge: JavaBridge;
let loaded: string;
let sleeper: string;

/** A peer that connects and never says hello, opened first so that its deadline passes while the other tests run. */
let silent: Awaited<ReturnType<typeof rawConnection>>;
let silentSince: number;
/** The bridge's InvokeFrameServer.HELLO_TIMEOUT_MS. */
const BRIDGE_HELLO_TIMEOUT_MS = 10_000;

beforeAll(async () => {
  bridge = await startTestBridge({ restart: false });
  silentSince = Date.now();
  silent = await rawConnection();
  loaded = 'frames-test/hello';
  await loadFixture(bridge.client, loaded, 'Hello', 5_000);
  sleeper = 'frames-test/sleeper';
  await loadFixture(bridge.client, sleeper, 'Sleeper', 10_000);
});

afterAll(async () => {
  await bridge?.stop();
});

const invokeSocket = () => `${bridge.socketPath}.invoke`;

/** The secret the bridge was started with, from its environment (a peer of the same user can read it). */
function bridgeSecret(of: JavaBridge = bridge): string {
  const environ = readFileSync(`/proc/${of.pid}/environ`, 'utf8').split('\0');
  const entry = environ.find((variable) => variable.startsWith('ROOST_BRIDGE_SECRET='));
  if (!entry) throw new Error('the bridge has no ROOST_BRIDGE_SECRET in its environment');
  return entry.slice('ROOST_BRIDGE_SECRET='.length);
}

/** Until the bridge's frames say so. */
const until = (done: () => boolean) =>
  eventually(done, { intervalMs: 10, timeoutMs: 10_000, what: 'the bridge’s frames' });

/** Unix sockets bound to a path, as the kernel lists them: the listener and each connection it accepted. */
function socketsAt(path: string): number {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${path}`)).length;
}

/** A raw connection to the invocation socket, and every frame the bridge sends on it. */
async function rawConnection(of: JavaBridge = bridge): Promise<{
  socket: Socket;
  writer: FrameWriter;
  frames: Record<string, unknown>[];
  closed: Promise<void>;
}> {
  const socket = connect({ path: `${of.socketPath}.invoke` });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const frames: Record<string, unknown>[] = [];
  const reader = new FrameReader({
    maxFrameBytes: 4 << 20,
    codecs: [RESULT_HEADER],
    onFrame: (header: Record<string, unknown>, body: Buffer) =>
      frames.push(body.length > 0 ? { ...header, body: body.toString() } : header),
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  return { socket, writer: new FrameWriter(socket), frames, closed };
}

describe('the bridge invocation socket', () => {
  test('serves next to the gRPC socket, for its owner only, and carries the sidecar client’s invocations', async () => {
    expect(statSync(invokeSocket()).mode & 0o777).toBe(0o600);
    const answer = await invokeJson(bridge.client, loaded, { name: 'frames' });
    expect(resultOf(answer)).toMatchObject({ hello: 'frames' });
    // The listener, and the connection the client opened and keeps.
    expect(socketsAt(invokeSocket())).toBeGreaterThanOrEqual(2);
  });

  test('many invocations at once on the one connection each get their own answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => invokeJson(bridge.client, loaded, { name: `n${i}` })),
    );
    expect(answers.map((a) => (resultOf(a) as { hello: string }).hello)).toEqual(
      Array.from({ length: 50 }, (_, i) => `n${i}`),
    );
  });

  test('an unknown Sandbox is refused with the bridge’s code, as over gRPC', async () => {
    const error = await invokeJson(bridge.client, 'frames-test/nobody', {}).catch((e) => e);
    expect(error).toBeInstanceOf(JavaBridgeCallError);
    expect((error as JavaBridgeCallError).code).toBe('ROOST_JAVA_SANDBOX_NOT_FOUND');
    expect((error as JavaBridgeCallError).grpcCode).toBe(5); // NOT_FOUND
  });

  test('a peer without the secret is refused and cut off before it can invoke', async () => {
    const peer = await rawConnection();
    peer.writer.write({ type: 'hello', token: 'not-the-secret' });
    peer.writer.write(
      { id: 1, sandbox: loaded, requestId: 'stolen', timeoutMs: 1000 },
      Buffer.from('{}'),
    );
    await peer.closed;
    expect(peer.frames).toEqual([
      expect.objectContaining({ type: 'refused', code: 16 }), // UNAUTHENTICATED
    ]);
  });

  test('a frame over the limit is refused from its length alone, and so is a big one before the hello', async () => {
    for (const length of [0x7fffffff, 64 * 1024]) {
      const peer = await rawConnection();
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32BE(length, 0);
      prefix.writeUInt32BE(2, 4);
      peer.socket.write(prefix);
      await peer.closed;
      expect(peer.frames).toEqual([expect.objectContaining({ type: 'refused', code: 3 })]);
    }
  });

  test('garbage instead of a header closes that connection alone; the client’s goes on', async () => {
    const peer = await rawConnection();
    const junk = Buffer.from('not json at all');
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(4 + junk.length, 0);
    prefix.writeUInt32BE(junk.length, 4);
    peer.socket.write(Buffer.concat([prefix, junk]));
    await peer.closed;
    expect(resultOf(await invokeJson(bridge.client, loaded, { name: 'still' }))).toMatchObject({
      hello: 'still',
    });
  });

  test('a result over the frame limit fails that invocation alone; one running beside it answers', async () => {
    await loadAbuse(bridge.client, 'frames-test/big', 'BigResult', 256);
    const beside = invokeJson(bridge.client, sleeper, 500);
    const big = await invokeJson(bridge.client, 'frames-test/big', 17 * 1024 * 1024);
    expect(big).toMatchObject({
      error: 'FUNCTION_ERROR_UNHANDLED',
      errorType: 'ResultTooLarge',
      errorMessage: expect.stringContaining('over the limit'),
    });
    expect(resultOf(await beside)).toBe('slept 500');
    // Just under the limit still goes through whole.
    const large = await invokeJson(bridge.client, 'frames-test/big', 8 * 1024 * 1024);
    expect(resultOf<string>(large)).toHaveLength(8 * 1024 * 1024);
  });

  test('a hello that offers binary headers is welcomed, and invocations then go both ways in them', async () => {
    const peer = await rawConnection();
    peer.writer.write({ type: 'hello', token: bridgeSecret(), binaryHeaders: true });
    const invoke = (id: number, sandbox: string, format?: 'http-request') =>
      peer.writer.write(
        { id, namespace: '', sandbox, requestId: `binary-${id}`, timeoutMs: 5_000, format },
        Buffer.from(JSON.stringify({ name: `b${id}` })),
        INVOKE_HEADER,
      );
    await until(() => peer.frames.length === 1);
    invoke(7, loaded);
    invoke(8, 'frames-test/nobody');
    invoke(9, loaded, 'http-request');
    await until(() => peer.frames.length === 4);
    const byId = (id: number) => peer.frames.find((frame) => frame.id === id);
    expect(peer.frames[0]).toEqual({ type: 'welcome', binaryHeaders: true });
    expect(byId(7)).toMatchObject({ error: 'FUNCTION_ERROR_NONE', rejection: null });
    expect(JSON.parse(byId(7)!.body as string)).toMatchObject({ hello: 'b7' });
    expect(byId(8)).toMatchObject({
      rejection: { code: 5, notInvoked: true, errorCode: 'ROOST_JAVA_SANDBOX_NOT_FOUND' },
    });
    // The sidecar builds a Java function's event; a compact HTTP request is refused, not run.
    expect(byId(9)).toMatchObject({
      rejection: { code: 3, notInvoked: true, errorCode: 'ROOST_JAVA_BAD_REQUEST' },
    });
    peer.socket.destroy();
  });

  test('frames cut anywhere, many in one write, or larger than the bridge’s read buffer are each read whole', async () => {
    const peer = await rawConnection();
    peer.writer.write({ type: 'hello', token: bridgeSecret(), binaryHeaders: true });
    await until(() => peer.frames.length === 1);
    const names = ['first', 'x'.repeat(1024 * 1024), 'third', 'fourth'];
    const bytes = Buffer.concat(
      names.flatMap((name, i) =>
        encodeFrame(
          { id: i + 1, namespace: '', sandbox: loaded, requestId: `cut-${i}`, timeoutMs: 5_000 },
          Buffer.from(JSON.stringify({ name })),
          INVOKE_HEADER,
        ),
      ),
    );
    // Pieces of 1 to 64 KiB + 7 bytes, a pause after each so that the bridge reads them apart.
    for (
      let at = 0, size = 1;
      at < bytes.length;
      at += size, size = (size * 7 + 3) % (64 * 1024 + 7)
    ) {
      peer.socket.write(bytes.subarray(at, at + size));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await until(() => peer.frames.length === 1 + names.length);
    const answers = peer.frames.slice(1).sort((a, b) => (a.id as number) - (b.id as number));
    expect(
      answers.map((answer) => (JSON.parse(answer.body as string) as { hello: string }).hello),
    ).toEqual(names);
    peer.socket.destroy();
  });

  test('a binary header cut short is refused, naming the field, and closes that connection alone', async () => {
    const peer = await rawConnection();
    peer.writer.write({ type: 'hello', token: bridgeSecret(), binaryHeaders: true });
    // The tag and half of the id.
    const header = Buffer.from([INVOKE_HEADER.tag, 0, 0, 0, 0]);
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(4 + header.length, 0);
    prefix.writeUInt32BE(header.length, 4);
    peer.socket.write(Buffer.concat([prefix, header]));
    await peer.closed;
    expect(peer.frames).toEqual([
      { type: 'welcome', binaryHeaders: true },
      expect.objectContaining({
        type: 'refused',
        code: 3,
        message: expect.stringContaining('inside field id'),
      }),
    ]);
    expect(resultOf(await invokeJson(bridge.client, loaded, { name: 'after' }))).toMatchObject({
      hello: 'after',
    });
  });

  test('a function that returns with its thread interrupted fails nothing on the connection it shares', async () => {
    await loadAbuse(bridge.client, 'frames-test/reinterrupt', 'Reinterrupt');
    // A neighbour's invocation in flight on the same connection while the interrupted thread writes its answer.
    const beside = invokeJson(bridge.client, sleeper, 300);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => invokeJson(bridge.client, 'frames-test/reinterrupt', {})),
    );
    expect(answers.map((answer) => resultOf(answer))).toEqual(Array(20).fill('interrupted'));
    expect(resultOf(await beside)).toBe('slept 300');
  });

  test('a function that interrupts its own threads without end fails nothing of its neighbours', async () => {
    const own = await startTestBridge({ restart: false });
    try {
      await loadFixture(own.client, 'frames-test/neighbour', 'Hello', 5_000);
      await loadAbuse(own.client, 'frames-test/interrupter', 'InterruptSiblings');
      // Its threads answer for the connection too, while being interrupted.
      const rounds = Array.from({ length: 20 }, async (_, round) => {
        const [mine, neighbour] = await Promise.all([
          invokeJson(own.client, 'frames-test/interrupter', {}),
          invokeJson(own.client, 'frames-test/neighbour', { name: `n${round}` }),
        ]);
        return [resultOf(mine), (resultOf(neighbour) as { hello: string }).hello];
      });
      expect(await Promise.all(rounds)).toEqual(
        Array.from({ length: 20 }, (_, round) => ['interrupting', `n${round}`]),
      );
    } finally {
      await own.stop();
    }
  });

  test('a function that interrupts every thread of the JVM without end fails nothing of its neighbours', async () => {
    const own = await startTestBridge({ restart: false });
    try {
      await loadFixture(own.client, 'frames-test/neighbour', 'Hello', 5_000);
      await loadAbuse(own.client, 'frames-test/everyone', 'InterruptEveryone');
      expect(resultOf(await invokeJson(own.client, 'frames-test/everyone', {}))).toBe(
        'interrupting',
      );
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          invokeJson(own.client, 'frames-test/neighbour', { name: `n${i}` }),
        ),
      );
      expect(answers.map((answer) => (resultOf(answer) as { hello: string }).hello)).toEqual(
        Array.from({ length: 20 }, (_, i) => `n${i}`),
      );
      // A new connection is still accepted and served (the sidecar's, after a restart of its own).
      const fresh = await rawConnection(own);
      fresh.writer.write({ type: 'hello', token: bridgeSecret(own), binaryHeaders: true });
      fresh.writer.write(
        {
          id: 1,
          namespace: '',
          sandbox: 'frames-test/neighbour',
          requestId: 'fresh',
          timeoutMs: 5_000,
        },
        Buffer.from('{"name":"fresh"}'),
        INVOKE_HEADER,
      );
      await until(() => fresh.frames.some((frame) => frame.id === 1));
      expect(
        JSON.parse(fresh.frames.find((frame) => frame.id === 1)!.body as string),
      ).toMatchObject({
        hello: 'fresh',
      });
      fresh.socket.destroy();
    } finally {
      await own.stop();
    }
  });

  test('a function thread writes its own answer (a Sleeper)', async () => {
    expect(resultOf(await invokeJson(bridge.client, sleeper, 10))).toBe('slept 10');
  });
});

describe('a bridge without the invocation socket (an older bridge image)', () => {
  test('is invoked over gRPC', async () => {
    const own = await startTestBridge({ restart: false });
    try {
      await loadFixture(own.client, 'frames-test/old', 'Hello', 5_000);
      // The client opens its frame connection at the first invocation: with the
      // path gone there is nothing to connect to (the listener itself stays).
      rmSync(`${own.socketPath}.invoke`);
      const answer = await invokeJson(own.client, 'frames-test/old', { name: 'grpc' });
      expect(resultOf(answer)).toMatchObject({ hello: 'grpc' });
    } finally {
      await own.stop();
    }
  });
});

describe('a bridge that dies with an invocation in flight', () => {
  test('fails it as unavailable at once, without waiting for its deadline', async () => {
    const own = await startTestBridge({ restart: false });
    try {
      await loadFixture(own.client, 'frames-test/dying', 'Sleeper', 20_000);
      const started = performance.now();
      const pending = invokeJson(own.client, 'frames-test/dying', 15_000).catch((e) => e);
      await new Promise((r) => setTimeout(r, 300));
      process.kill(own.pid!, 'SIGKILL');
      const error = await pending;
      expect(error).toBeInstanceOf(JavaBridgeCallError);
      expect((error as JavaBridgeCallError).grpcCode).toBe(14); // UNAVAILABLE
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await own.stop();
    }
  });
});

test('a peer that never says hello is cut off at the bridge’s deadline', async () => {
  // Never before the deadline, and well within a busy machine's delay after it (this asserts no speed).
  const slackMs = 10_000;
  const closedAfter = await Promise.race([
    silent.closed.then(() => Date.now() - silentSince),
    new Promise<number>((resolve) =>
      setTimeout(() => resolve(Infinity), BRIDGE_HELLO_TIMEOUT_MS + slackMs),
    ),
  ]);
  expect(closedAfter).toBeGreaterThanOrEqual(BRIDGE_HELLO_TIMEOUT_MS - 100);
  expect(closedAfter).toBeLessThan(BRIDGE_HELLO_TIMEOUT_MS + slackMs);
  expect(silent.frames).toEqual([]);
}, 60_000);
