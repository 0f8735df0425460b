// The gateway's frame channel keeps one timer for all its pending invocations:
// each still fails at its own deadline, whatever the others do, and an answer
// in time is never failed. A connection that does not come up within the
// connect timeout fails its invocations as never delivered, and the next
// invocation connects afresh. Against a real TCP peer that speaks the frames
// and answers only the invocations it is told to, and a loopback port that
// answers no SYN (test/support/syn-black-hole.ts).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { FrameChannel } from './frame-channel.ts';
import { ChannelBroken, ChannelTimeout, ConnectTimeout } from './invocation-channel.ts';
import { synBlackHole } from '../test/support/syn-black-hole.ts';
import {
  INVOKE_HEADER,
  INVOKE_PREFACE,
  RESULT_HEADER,
  type HelloFrame,
  type InvokeFrame,
} from '../proto/invoke-frames.ts';
import { FrameReader, FrameWriter, HeaderCodec } from '../runtime-node/frames.js';
import {
  decodeHttpRequest,
  encodeHttpRequest,
  toFunctionUrlEvent,
} from '../runtime-node/function-url-event.js';

const closers: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/**
 * A sidecar stand-in: answers an invocation whose requestId starts with
 * "answer", after `delayMs`. With `welcome` it takes binary headers as a
 * sidecar does when the hello offers them; `seen` records how each
 * invocation's header came, `received` each invocation's format and body.
 * `port`: listen on that one (default: a free one).
 */
async function peer(
  delayMs: number,
  options: { welcome?: boolean; port?: number } = {},
): Promise<{
  address: string;
  server: Server;
  seen: ('json' | 'binary')[];
  received: { format: string; body: Buffer }[];
}> {
  const sockets = new Set<Socket>();
  const seen: ('json' | 'binary')[] = [];
  const received: { format: string; body: Buffer }[] = [];
  /** Set by the binary codec as it reads a header, for onFrame of the same frame. */
  let readBinary = false;
  const binaryInvoke = new HeaderCodec<InvokeFrame>(INVOKE_HEADER.tag, INVOKE_HEADER.write, (r) => {
    readBinary = true;
    return INVOKE_HEADER.read(r);
  });
  const server = createServer((socket) => {
    sockets.add(socket);
    const writer = new FrameWriter(socket);
    let preface = true;
    let binary = false;
    const reader = new FrameReader({
      maxFrameBytes: 1 << 20,
      codecs: options.welcome ? [binaryInvoke] : [],
      onFrame: (header: InvokeFrame & Partial<HelloFrame>, body: Buffer) => {
        if (header.type === 'hello') {
          if (options.welcome && header.binaryHeaders === true) {
            binary = true;
            writer.write({ type: 'welcome', binaryHeaders: true });
          }
          return;
        }
        seen.push(readBinary ? 'binary' : 'json');
        received.push({ format: header.format ?? 'json', body });
        readBinary = false;
        if (!header.requestId.startsWith('answer')) return;
        setTimeout(
          () =>
            writer.write(
              {
                id: header.id,
                error: 'FUNCTION_ERROR_NONE',
                errorType: '',
                errorMessage: '',
                stackTrace: [],
                durationMs: 1,
                memoryBytes: 0,
                coldStart: false,
                cpuMicros: 0,
                logTail: '',
                rejection: null,
              },
              Buffer.from(JSON.stringify(header.requestId)),
              binary ? RESULT_HEADER : undefined,
            ),
          delayMs,
        );
      },
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(preface ? chunk.subarray(INVOKE_PREFACE.length) : chunk);
      preface = false;
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, server, seen, received };
}

const request = (requestId: string) => ({
  namespace: 'ns',
  sandbox: 'sb',
  requestId,
  payload: Buffer.from('{}'),
  metadata: {},
  timeoutMs: 100,
  tailLogs: false,
});

describe('FrameChannel deadlines', () => {
  test('each unanswered invocation fails at its own deadline; answered ones are not failed', async () => {
    const { address } = await peer(50);
    const channel = new FrameChannel(address, 'token');
    closers.push(() => channel.close());
    const started = performance.now();
    const settled = (p: Promise<unknown>) =>
      p.then(
        (r) => ({ ok: true, r, at: performance.now() - started }),
        (err: unknown) => ({ ok: false, err, at: performance.now() - started }),
      );
    const [long, short, answered, later] = await Promise.all([
      settled(channel.invoke(request('silent-long'), 1200)),
      settled(channel.invoke(request('silent-short'), 300)),
      settled(channel.invoke(request('answer-1'), 250)),
      // Sent after the earliest deadline was set: it must still get its own.
      new Promise((r) => setTimeout(r, 100)).then(() =>
        settled(channel.invoke(request('silent-later'), 400)),
      ),
    ]);
    expect(answered).toMatchObject({ ok: true });
    expect(
      JSON.parse(((answered as { r: { result: Buffer } }).r.result as Buffer).toString()),
    ).toBe('answer-1');
    for (const [outcome, ms] of [
      [short, 300],
      [later, 500],
      [long, 1200],
    ] as const) {
      expect(outcome.ok).toBe(false);
      expect((outcome as { err: unknown }).err).toBeInstanceOf(ChannelTimeout);
      // Never before its deadline; on a loaded machine it may be late, not early.
      expect(outcome.at).toBeGreaterThanOrEqual(ms - 5);
    }
    expect(channel.pending).toBe(0);
  });

  test('a timed-out invocation leaves the connection serving the next one', async () => {
    const { address } = await peer(0);
    const channel = new FrameChannel(address, 'token');
    closers.push(() => channel.close());
    await expect(channel.invoke(request('silent'), 50)).rejects.toBeInstanceOf(ChannelTimeout);
    const answer = await channel.invoke(request('answer-2'), 5000);
    expect(JSON.parse(answer.result.toString())).toBe('answer-2');
  });
});

describe('FrameChannel connect timeout', () => {
  test('invocations on a connection whose SYN goes unanswered fail at the connect timeout, as never delivered, naming the address', async () => {
    const blackHole = await synBlackHole();
    closers.push(() => blackHole.close());
    const channel = new FrameChannel(blackHole.address, 'token', { connectTimeoutMs: 200 });
    closers.push(() => channel.close());
    const started = performance.now();
    const failures = await Promise.all(
      ['first', 'second'].map((id) =>
        channel.invoke(request(`answer-${id}`), 10_000).catch((err: unknown) => err),
      ),
    );
    const elapsed = performance.now() - started;
    for (const err of failures) {
      expect(err).toBeInstanceOf(ChannelBroken);
      expect((err as ChannelBroken).notInvoked).toBe(true);
      expect((err as ChannelBroken).code).toBe('ROOST_CHANNEL_BROKEN');
      const cause = (err as ChannelBroken).cause;
      expect(cause).toBeInstanceOf(ConnectTimeout);
      expect((cause as ConnectTimeout).code).toBe('ROOST_CHANNEL_CONNECT_TIMEOUT');
      expect((err as Error).message).toContain(
        `Cannot connect to sidecar ${blackHole.address}: no answer within 200 ms`,
      );
    }
    // Not before the timeout; and long before Linux's first SYN retransmit (1 s)
    // or the invocation's own deadline (10 s) would have ended the wait.
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1000);
    expect(channel.pending).toBe(0);
  });

  test('after a connect timeout the next invocation connects afresh, and is answered once the sidecar answers', async () => {
    const blackHole = await synBlackHole();
    const channel = new FrameChannel(blackHole.address, 'token', { connectTimeoutMs: 200 });
    closers.push(() => channel.close());
    const err = await channel.invoke(request('answer-lost'), 10_000).catch((e: unknown) => e);
    expect((err as ChannelBroken).cause).toBeInstanceOf(ConnectTimeout);
    // The sidecar comes back on the same address, as a restarted one does.
    await blackHole.close();
    await peer(0, { port: blackHole.port });
    const answer = await channel.invoke(request('answer-back'), 5000);
    expect(JSON.parse(answer.result.toString())).toBe('answer-back');
  });

  test('a connection that came up is not failed when the connect timeout passes', async () => {
    // Answered 300 ms after it is sent: well after a 100 ms connect timeout.
    const { address } = await peer(300);
    const channel = new FrameChannel(address, 'token', { connectTimeoutMs: 100 });
    closers.push(() => channel.close());
    const answer = await channel.invoke(request('answer-slow'), 5000);
    expect(JSON.parse(answer.result.toString())).toBe('answer-slow');
  });

  test('a connect timeout that setTimeout cannot keep is refused', () => {
    for (const connectTimeoutMs of [0, -1, Number.NaN, 2 ** 31])
      expect(() => new FrameChannel('127.0.0.1:1', 'token', { connectTimeoutMs })).toThrow(
        RangeError,
      );
  });
});

describe('FrameChannel headers', () => {
  test('invocations go with binary headers once a sidecar welcomes the offer, and answers come back in them', async () => {
    const { address, seen } = await peer(0, { welcome: true });
    const channel = new FrameChannel(address, 'token', { binaryHeaders: true });
    closers.push(() => channel.close());
    for (const id of ['answer-1', 'answer-2', 'answer-3']) {
      const answer = await channel.invoke(request(id), 5000);
      expect(JSON.parse(answer.result.toString())).toBe(id);
    }
    // The first may leave before the welcome arrives; the rest wait for nothing.
    expect(seen.slice(1)).toEqual(['binary', 'binary']);
  });

  test('a sidecar that never welcomes (an older one) and a channel that does not offer both keep to JSON', async () => {
    const older = await peer(0);
    const offering = new FrameChannel(older.address, 'token', { binaryHeaders: true });
    const welcoming = await peer(0, { welcome: true });
    const plain = new FrameChannel(welcoming.address, 'token');
    closers.push(
      () => offering.close(),
      () => plain.close(),
    );
    for (const channel of [offering, plain])
      for (const id of ['answer-1', 'answer-2'])
        expect(JSON.parse((await channel.invoke(request(id), 5000)).result.toString())).toBe(id);
    expect(older.seen).toEqual(['json', 'json']);
    expect(welcoming.seen).toEqual(['json', 'json']);
  });
});

test('a compact HTTP request goes as it is to a sidecar that welcomed binary headers, and as its JSON event to one that did not', async () => {
  const httpRequest = (requestId: string) => ({
    ...request(requestId),
    format: 'http-request' as const,
    payload: encodeHttpRequest({
      method: 'POST',
      path: '/items',
      query: 'a=1',
      headers: { host: 'fn.example.com', 'content-type': 'text/plain' },
      body: Buffer.from('hello'),
      sourceIp: '10.0.0.1',
      requestId,
      time: Date.UTC(2026, 10, 27),
      apiId: 'ns/fn',
    }),
  });
  const older = await peer(0);
  const welcoming = await peer(0, { welcome: true });
  const toOlder = new FrameChannel(older.address, 'token', { binaryHeaders: true });
  const toNewer = new FrameChannel(welcoming.address, 'token', { binaryHeaders: true });
  closers.push(
    () => toOlder.close(),
    () => toNewer.close(),
  );
  for (const channel of [toOlder, toNewer])
    for (const id of ['answer-1', 'answer-2']) await channel.invoke(httpRequest(id), 5000);
  for (const { format, body } of older.received) {
    expect(format).toBe('json');
    expect(JSON.parse(body.toString())).toMatchObject({
      rawPath: '/items',
      rawQueryString: 'a=1',
      body: 'hello',
      requestContext: { http: { method: 'POST', sourceIp: '10.0.0.1' } },
    });
  }
  // After the welcome, the request itself; the function's side builds the same event from it.
  const last = welcoming.received.at(-1)!;
  expect(last.format).toBe('http-request');
  expect(toFunctionUrlEvent(decodeHttpRequest(last.body))).toEqual(
    JSON.parse(older.received.at(-1)!.body.toString()),
  );
});
