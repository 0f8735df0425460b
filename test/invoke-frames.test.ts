// The invocation transport (gateway to sidecar frames on the sidecar's port,
// sidecar to function frames on a socket pair) against real sidecars and
// function processes: it refuses strangers and oversized frames, fails only
// the invocation of a function that dies mid-frame, bounds what a slow reader
// can hold, survives a sidecar restart, and gives a function no way into a
// neighbour's invocations.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { inlineSandbox, json, parse, waitUntilReady } from './support/sandboxes.ts';
import { Sandboxes } from '../kube/api/resources.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';
import { FrameChannel } from '../gateway/frame-channel.ts';
import { freePort } from '../lib/ports.ts';
import { ChannelBroken } from '../gateway/invocation-channel.ts';
import {
  INVOKE_HEADER,
  INVOKE_PREFACE,
  RESULT_HEADER,
  type RefusedFrame,
  type ResultFrame,
  type WelcomeFrame,
} from '../proto/invoke-frames.ts';
import { FrameReader, HeaderCodec, MAX_FRAME_BYTES, encodeFrame } from '../runtime-node/frames.js';
import { FIRST_BYTES_TIMEOUT_MS } from '../sidecar/grpc-server.ts';
import { HELLO_TIMEOUT_MS } from '../sidecar/invoke-frames-server.ts';
import { sleep } from '../lib/duration.ts';

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;
const channels: FrameChannel[] = [];

/** Answers with its pid, or with `size` bytes, after `sleepMs`. */
const ECHO = `export const handler = async (e) => {
  if (e.sleepMs) await new Promise((r) => setTimeout(r, e.sleepMs));
  return e.size ? 'x'.repeat(e.size) : { pid: process.pid, n: e.n };
};`;

/** Opened first and left silent, so that the deadlines they meet pass while the other tests run. */
let silent: ReturnType<typeof rawConnection>;
let prefaceOnly: ReturnType<typeof rawConnection>;
let silentSince: number;

beforeAll(async () => {
  namespace = await createNamespace(client, 'frames');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({ name: 'host-frames' });
  silentSince = Date.now();
  silent = rawConnection();
  prefaceOnly = rawConnection();
  prefaceOnly.socket.write(INVOKE_PREFACE);
  sidecar = hosts.connect(host.address);
  for (const name of ['neighbour', 'echo'])
    await client.create(
      Sandboxes,
      inlineSandbox(namespace, name, host.name, ECHO, { concurrency: 8 }),
    );
  await waitUntilReady(client, namespace, 'neighbour');
  await waitUntilReady(client, namespace, 'echo');
});

afterAll(async () => {
  for (const channel of channels) channel.close();
  await hosts?.stop();
});

/** A channel as the gateway makes one: it offers binary headers. */
function channel(): FrameChannel {
  const made = new FrameChannel(host.address, hosts.token, { binaryHeaders: true });
  channels.push(made);
  return made;
}

const invoke = (via: FrameChannel, sandbox: string, event: unknown, timeoutMs = 10_000) =>
  via.invoke(
    {
      namespace,
      sandbox,
      requestId: `${sandbox}-${Math.random()}`,
      payload: json(event),
      metadata: {},
      timeoutMs,
      tailLogs: false,
    },
    timeoutMs + 1000,
  );

async function invocationsOf(sandbox: string): Promise<number> {
  const stats = await sidecar.stats({ namespace, sandbox });
  return stats.sandboxes[0]?.invocations ?? 0;
}

type SidecarFrame = ResultFrame | RefusedFrame | WelcomeFrame;

/**
 * A raw connection to the sidecar's port that collects the frames it is
 * sent; a result whose header came binary is marked `binary: true`.
 */
function rawConnection(): {
  socket: Socket;
  frames: (SidecarFrame & { binary?: true })[];
  closed: Promise<void>;
} {
  const socket = connect({ host: host.ip, port: host.port });
  const frames: SidecarFrame[] = [];
  const markedResult = new HeaderCodec<ResultFrame & { binary: true }>(
    RESULT_HEADER.tag,
    RESULT_HEADER.write,
    (r) => ({ ...RESULT_HEADER.read(r), binary: true }),
  );
  const reader = new FrameReader({
    maxFrameBytes: MAX_FRAME_BYTES,
    codecs: [markedResult],
    onFrame: (header: SidecarFrame) => frames.push(header),
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  return { socket, frames, closed };
}

const frame = (header: object, body?: Buffer) => Buffer.concat(encodeFrame(header, body));
const invokeFrame = (id: number, sandbox: string, event: unknown = {}, timeoutMs = 5000) =>
  frame({ id, namespace, sandbox, requestId: `raw-${id}`, timeoutMs }, json(event));

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('gateway to sidecar', () => {
  test('a gateway that offers binary headers is welcomed and answered in them; one that does not is answered in JSON', async () => {
    const binary = rawConnection();
    binary.socket.write(
      Buffer.concat([
        INVOKE_PREFACE,
        frame({ type: 'hello', token: hosts.token, binaryHeaders: true }),
        ...encodeFrame(
          { id: 5, namespace, sandbox: 'echo', requestId: 'bin-5', timeoutMs: 5000 },
          json({ n: 5 }),
          INVOKE_HEADER,
        ),
        // JSON frames stay readable on the same connection: they are what was sent before the welcome.
        invokeFrame(6, 'echo', { n: 6 }),
        ...encodeFrame(
          { id: 7, namespace, sandbox: '', requestId: 'bin-7', timeoutMs: 5000 },
          json({}),
          INVOKE_HEADER,
        ),
        // A request in compact form that does not hold together fails alone, as a bad payload.
        ...encodeFrame(
          {
            id: 9,
            namespace,
            sandbox: 'echo',
            requestId: 'bin-9',
            timeoutMs: 5000,
            format: 'http-request',
          },
          Buffer.from([200, 0, 0, 0, 1, 2, 3]),
          INVOKE_HEADER,
        ),
      ]),
    );
    const plain = rawConnection();
    plain.socket.write(
      Buffer.concat([
        INVOKE_PREFACE,
        frame({ type: 'hello', token: hosts.token }),
        invokeFrame(8, 'echo', { n: 8 }),
      ]),
    );
    await eventually(() => binary.frames.length >= 5 && plain.frames.length >= 1, {
      what: 'the answers of both connections',
    });
    expect(binary.frames[0]).toEqual({ type: 'welcome', binaryHeaders: true });
    const answers = binary.frames.slice(1) as (ResultFrame & { binary?: true })[];
    expect(answers.map((a) => [a.id, a.binary, a.error, a.rejection?.message])).toEqual(
      expect.arrayContaining([
        [5, true, 'FUNCTION_ERROR_NONE', undefined],
        [6, true, 'FUNCTION_ERROR_NONE', undefined],
        [7, true, 'FUNCTION_ERROR_NONE', 'invocation frame 7: sandbox must be a non-empty string'],
        [
          9,
          true,
          'FUNCTION_ERROR_NONE',
          'the request is malformed: a request of 7 bytes is too short',
        ],
      ]),
    );
    expect(plain.frames).toEqual([
      expect.objectContaining({ id: 8, error: 'FUNCTION_ERROR_NONE', rejection: null }),
    ]);
    expect(plain.frames[0]).not.toHaveProperty('binary');
    binary.socket.destroy();
    plain.socket.destroy();
  });

  test('invocations and their results cross as frames, many at once on one connection', async () => {
    const via = channel();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, n) => invoke(via, 'echo', { n })),
    );
    expect(answers.map((a) => parse<{ n: number }>(a.result).n)).toEqual(
      Array.from({ length: 40 }, (_, n) => n),
    );
    expect(answers.every((a) => a.error === 'FUNCTION_ERROR_NONE')).toBe(true);
  });

  test('a connection without the invoke token is refused, and what it sent never runs', async () => {
    const before = await invocationsOf('neighbour');
    for (const hello of [
      frame({ type: 'hello', token: 'not-the-token' }),
      frame({ type: 'hello' }),
      invokeFrame(1, 'neighbour'),
    ]) {
      const raw = rawConnection();
      raw.socket.write(Buffer.concat([INVOKE_PREFACE, hello, invokeFrame(2, 'neighbour')]));
      await raw.closed;
      expect(raw.frames).toEqual([
        expect.objectContaining({ type: 'refused', code: 16 /* UNAUTHENTICATED */ }),
      ]);
    }
    // The gateway's own client says such a refusal was not delivered: safe to retry elsewhere.
    const stranger = new FrameChannel(host.address, 'wrong-token');
    channels.push(stranger);
    const refused = await invoke(stranger, 'neighbour', {}).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ChannelBroken);
    expect((refused as ChannelBroken).notInvoked).toBe(true);
    expect(await invocationsOf('neighbour')).toBe(before);
  });

  test('a frame over the size limit is refused from its length; a stranger may not even send a large hello', async () => {
    const stranger = rawConnection();
    const bigHello = Buffer.alloc(8);
    bigHello.writeUInt32BE(1024 * 1024, 0);
    bigHello.writeUInt32BE(20, 4);
    stranger.socket.write(Buffer.concat([INVOKE_PREFACE, bigHello]));
    await stranger.closed;
    expect(stranger.frames).toEqual([
      expect.objectContaining({ type: 'refused', code: 8 /* RESOURCE_EXHAUSTED */ }),
    ]);

    const raw = rawConnection();
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    huge.writeUInt32BE(20, 4);
    raw.socket.write(
      Buffer.concat([INVOKE_PREFACE, frame({ type: 'hello', token: hosts.token }), huge]),
    );
    await raw.closed;
    expect(raw.frames).toEqual([
      expect.objectContaining({
        type: 'refused',
        code: 8,
        message: expect.stringContaining('limit'),
      }),
    ]);
    // The gateway's client never sends one: it refuses the invocation itself, as a bad request.
    const small = new FrameChannel(host.address, hosts.token, { maxFrameBytes: 8192 });
    channels.push(small);
    await expect(invoke(small, 'echo', { pad: 'z'.repeat(10_000) })).rejects.toMatchObject({
      code: 'ROOST_INVOCATION_REJECTED',
      grpcCode: 3,
      notInvoked: true,
    });
    // The sidecar serves on.
    expect((await invoke(channel(), 'echo', { n: 1 })).error).toBe('FUNCTION_ERROR_NONE');
  });

  test('a malformed frame or a bad field is refused with a reason', async () => {
    const raw = rawConnection();
    raw.socket.write(
      Buffer.concat([
        INVOKE_PREFACE,
        frame({ type: 'hello', token: hosts.token }),
        frame({ id: 1, namespace, sandbox: 'echo', requestId: 'r', timeoutMs: -1 }),
        frame({ id: 2, namespace, sandbox: '', requestId: 'r', timeoutMs: 100 }),
      ]),
    );
    await expect.poll(() => raw.frames.length).toBe(2);
    expect(raw.frames.map((f) => (f as ResultFrame).rejection)).toEqual([
      expect.objectContaining({ code: 3, message: expect.stringContaining('timeoutMs') }),
      expect.objectContaining({ code: 3, message: expect.stringContaining('sandbox') }),
    ]);
    const garbage = Buffer.alloc(12);
    garbage.writeUInt32BE(8, 0);
    garbage.writeUInt32BE(4, 4);
    garbage.write('{{{{', 8);
    raw.socket.write(garbage);
    await raw.closed;
    expect(raw.frames[2]).toMatchObject({ type: 'refused', code: 3 });
  });

  test('a gateway that stops reading holds a bounded share of the sidecar memory, and is cut off', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(namespace, 'big', host.name, ECHO, { concurrency: 64, memoryMiB: 512 }),
    );
    await waitUntilReady(client, namespace, 'big');
    const pid = host.process.pid!;
    const before = rssBytes(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
    const raw = rawConnection();
    raw.socket.pause(); // reads nothing until the end
    const requests = [INVOKE_PREFACE, frame({ type: 'hello', token: hosts.token })];
    // 200 answers of 1 MiB: 200 MiB if the sidecar kept them all for this reader
    // (with time enough that none becomes a small timeout answer on a busy machine).
    for (let id = 1; id <= 200; id++)
      requests.push(invokeFrame(id, 'big', { size: 1024 * 1024 }, 60_000));
    raw.socket.write(Buffer.concat(requests));
    // Once 150 answers (150 MiB) are out, the sidecar must have given up on this reader.
    await expect.poll(() => invocationsOf('big'), { timeout: 30_000 }).toBeGreaterThan(150);
    clearInterval(sampler);
    raw.socket.resume();
    await raw.closed;
    // Cut off: it got only some of its answers, and the sidecar held far less than all of them.
    expect(raw.frames.length).toBeLessThan(200);
    expect(peak - before).toBeLessThan(150 * 1024 * 1024);
    // The sidecar and the function serve on.
    expect((await invoke(channel(), 'big', { n: 2 })).error).toBe('FUNCTION_ERROR_NONE');
  });
});

describe('sidecar to function process', () => {
  test('a function that dies in the middle of writing a frame fails only its invocation', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'half-frame',
        host.name,
        // Writes the start of a reply frame announcing 1000 bytes on the
        // invocation socket (fd 4), then dies before the rest.
        `import { writeSync } from 'node:fs';
        export const handler = async (e) => {
          if (!e.die) return 'alive';
          const head = Buffer.alloc(12); head.writeUInt32BE(1000, 0); head.writeUInt32BE(20, 4);
          writeSync(4, head);
          process.exit(3);
        };`,
      ),
    );
    await waitUntilReady(client, namespace, 'half-frame');
    const via = channel();
    const neighbour = Promise.all(
      Array.from({ length: 20 }, (_, n) => invoke(via, 'neighbour', { n, sleepMs: 10 * n })),
    );
    const died = await invoke(via, 'half-frame', { die: true });
    expect(died.error).toBe('FUNCTION_ERROR_CRASHED');
    expect((await neighbour).every((a) => a.error === 'FUNCTION_ERROR_NONE')).toBe(true);
    // It is restarted and answers again.
    await expect
      .poll(async () => parse((await invoke(via, 'half-frame', {})).result), { timeout: 10_000 })
      .toBe('alive');
  });

  test('a function that writes a frame over the limit is killed; only its invocation fails', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'huge-frame',
        host.name,
        `import { writeSync } from 'node:fs';
        export const handler = async (e) => {
          if (!e.lie) return 'alive';
          const head = Buffer.alloc(8); head.writeUInt32BE(0xfffffff0, 0); head.writeUInt32BE(20, 4);
          writeSync(4, head);
          await new Promise((r) => setTimeout(r, 5000));
        };`,
      ),
    );
    await waitUntilReady(client, namespace, 'huge-frame');
    const via = channel();
    const lied = await invoke(via, 'huge-frame', { lie: true });
    expect(lied.error).toBe('FUNCTION_ERROR_CRASHED');
    expect((await invoke(via, 'neighbour', { n: 3 })).error).toBe('FUNCTION_ERROR_NONE');
    const logs = await new Promise<string[]>((resolve, reject) => {
      const lines: string[] = [];
      const stream = sidecar.logs({ namespace, sandbox: 'huge-frame' });
      stream.on('data', (entry: { message: string }) => lines.push(entry.message));
      stream.on('end', () => resolve(lines));
      stream.on('error', reject);
    });
    expect(logs.join('\n')).toMatch(/invalid invocation frame.*limit.*killed/);
  });

  test('a function cannot reach a neighbour: no socket file to open, and the sidecar port wants the token', async () => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        'prober',
        host.name,
        `import { openSync } from 'node:fs';
        import { connect } from 'node:net';
        export const handler = async (e) => {
          const out = {};
          try { openSync('/proc/' + e.pid + '/fd/4', 'r+'); out.fd = 'opened'; } catch (err) { out.fd = err.code; }
          try { openSync('/proc/' + process.ppid + '/fd', 'r'); out.sidecarFds = 'opened'; } catch (err) { out.sidecarFds = err.code; }
          out.port = await new Promise((resolve) => {
            const s = connect(e.port, e.host);
            let got = Buffer.alloc(0);
            s.on('data', (d) => (got = Buffer.concat([got, d])));
            s.on('error', (err) => resolve(err.code));
            s.on('close', () => resolve(got.subarray(8).toString()));
            const hello = Buffer.from(JSON.stringify({ type: 'hello', token: 'guess' }));
            const head = Buffer.alloc(8); head.writeUInt32BE(4 + hello.length, 0); head.writeUInt32BE(hello.length, 4);
            s.write(Buffer.concat([Buffer.from('ROOSTIV1'), head, hello]));
          });
          return out;
        };`,
      ),
    );
    await waitUntilReady(client, namespace, 'prober');
    const via = channel();
    const neighbourPid = parse<{ pid: number }>((await invoke(via, 'neighbour', {})).result).pid;
    const before = await invocationsOf('neighbour');
    const probe = parse<{ fd: string; sidecarFds: string; port: string }>(
      (await invoke(via, 'prober', { pid: neighbourPid, host: host.ip, port: host.port })).result,
    );
    expect(['ERR_ACCESS_DENIED', 'EACCES', 'EPERM']).toContain(probe.fd);
    expect(['ERR_ACCESS_DENIED', 'EACCES', 'EPERM']).toContain(probe.sidecarFds);
    expect(probe.port).toMatch(/"type":"refused".*invoke token/);
    expect(await invocationsOf('neighbour')).toBe(before);
  });
});

describe('a sidecar restart', () => {
  test('invocations in flight when it dies fail as possibly run, a dead port as never delivered, and after the restart the channel reconnects', async () => {
    const restartable = await hosts.add({ name: 'host-restart', restartPolicy: 'Always' });
    await client.create(Sandboxes, inlineSandbox(namespace, 'slow', restartable.name, ECHO));
    await waitUntilReady(client, namespace, 'slow');
    const via = new FrameChannel(restartable.address, hosts.token);
    channels.push(via);
    expect((await invoke(via, 'slow', { n: 0 })).error).toBe('FUNCTION_ERROR_NONE');
    const inFlight = invoke(via, 'slow', { sleepMs: 3000 }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    const oldPid = restartable.process.pid;
    restartable.process.kill('SIGKILL');
    const broken = await inFlight;
    // It may have run: not to be retried elsewhere.
    expect(broken).toBeInstanceOf(ChannelBroken);
    expect((broken as ChannelBroken).notInvoked).toBe(false);
    // Where no sidecar listens, nothing is delivered: safe to retry elsewhere.
    const nowhere = new FrameChannel(
      `${restartable.ip}:${await freePort(restartable.ip)}`,
      hosts.token,
    );
    channels.push(nowhere);
    const down = await invoke(nowhere, 'slow', {}).catch((err: unknown) => err);
    expect(down).toBeInstanceOf(ChannelBroken);
    expect((down as ChannelBroken).notInvoked).toBe(true);
    // Restarted in place, the same channel reaches it again once the Sandbox is plugged.
    await expect
      .poll(() => hosts.kubelet.get(namespace, 'host-restart')?.process.pid, { timeout: 30_000 })
      .not.toBe(oldPid);
    await expect
      .poll(
        async () => {
          const answer = await invoke(via, 'slow', { n: 7 }).catch(() => undefined);
          return answer?.error === 'FUNCTION_ERROR_NONE'
            ? parse<{ n: number }>(answer.result).n
            : 0;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(7);
  });

  test('a sidecar that stops gracefully answers the invocations in flight first', async () => {
    const graceful = await hosts.add({ name: 'host-graceful', restartPolicy: 'Never' });
    await client.create(
      Sandboxes,
      inlineSandbox(namespace, 'drain', graceful.name, ECHO, { concurrency: 8 }),
    );
    await waitUntilReady(client, namespace, 'drain');
    const via = new FrameChannel(graceful.address, hosts.token);
    channels.push(via);
    const inFlight = Promise.all(
      Array.from({ length: 5 }, (_, n) => invoke(via, 'drain', { n, sleepMs: 500 })),
    );
    await new Promise((r) => setTimeout(r, 200));
    const stopped = graceful.process.stop(10_000);
    const answers = await inFlight;
    expect(answers.map((a) => parse<{ n: number }>(a.result).n)).toEqual([0, 1, 2, 3, 4]);
    await stopped;
  });
});

describe('strangers on the sidecar port', () => {
  test('a connection that never sends a byte is closed, and one that sends no hello is refused, at their deadlines', async () => {
    // Closed by the sidecar, not by the test: never before the deadline, and
    // well within a busy machine's delay after it (this asserts no speed).
    const slackMs = 10_000;
    const closedAfter = (raw: ReturnType<typeof rawConnection>) =>
      Promise.race([
        raw.closed.then(() => Date.now() - silentSince),
        sleep(FIRST_BYTES_TIMEOUT_MS + HELLO_TIMEOUT_MS + slackMs).then(() => Infinity),
      ]);
    const [silentMs, prefaceMs] = await Promise.all([
      closedAfter(silent),
      closedAfter(prefaceOnly),
    ]);
    expect(silentMs).toBeGreaterThanOrEqual(FIRST_BYTES_TIMEOUT_MS - 100);
    expect(silentMs).toBeLessThan(FIRST_BYTES_TIMEOUT_MS + slackMs);
    expect(silent.frames).toEqual([]);
    expect(prefaceMs).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 100);
    expect(prefaceMs).toBeLessThan(HELLO_TIMEOUT_MS + slackMs);
    expect(prefaceOnly.frames).toEqual([
      expect.objectContaining({ type: 'refused', code: 16, message: 'no hello frame in time' }),
    ]);
  }, 60_000);
});
