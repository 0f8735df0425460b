// The floor under bench:invoke: Roost's three processes and two frame hops
// with nothing else. A front process answers HTTP (as the gateway does) and
// sends each request as a frame over loopback TCP to a relay (as the gateway
// does to a sidecar); the relay passes it over a socket pair to its child (as
// the sidecar does to a function process), which answers the no-op body. The
// same codec and writer as Roost (runtime-node/frames.js), the same socket
// kinds, no routing, event, admission, limits, metrics or handler. What Roost
// costs above this is its own logic; what this costs is the architecture's.
//
//   node frame-chain.ts front   prints "listening <port>"; starts the relay
//   node frame-chain.ts relay   (started by front) prints "relay <port>"
//   node frame-chain.ts echo    (started by relay) on fd 4
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, Socket } from 'node:net';
import {
  FrameReader,
  FrameWriter,
  HeaderCodec,
  MAX_FRAME_BYTES,
} from '../../runtime-node/frames.js';

const role = process.argv[2];
const ANSWER = Buffer.from(JSON.stringify({ ok: true }));
/** An id, in a binary header as Roost's invocation frames have. */
const ID = new HeaderCodec<{ id: number }>(
  1,
  (header, w) => w.f64(header.id),
  (r) => ({ id: r.f64('id') }),
);
process.on('SIGTERM', () => process.exit(0));

/** Reads frames from a socket into onFrame; a broken stream ends the process. */
function readFrames(socket: Socket, onFrame: (header: { id: number }, body: Buffer) => void): void {
  const reader = new FrameReader({ maxFrameBytes: MAX_FRAME_BYTES, codecs: [ID], onFrame });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('close', () => process.exit(0));
}

if (role === 'echo') {
  const socket = new Socket({ fd: 4, readable: true, writable: true });
  const writer = new FrameWriter(socket);
  readFrames(socket, (header) => writer.write({ id: header.id }, ANSWER, ID));
} else if (role === 'relay') {
  const child = spawn(process.execPath, [import.meta.filename, 'echo'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ignore', 'pipe'],
  });
  const down = child.stdio[4] as Socket;
  const toChild = new FrameWriter(down);
  /** Which upstream connection each id in flight came from, and its id there. */
  const pending = new Map<number, { writer: FrameWriter; id: number }>();
  let nextId = 0;
  readFrames(down, (header, body) => {
    const from = pending.get(header.id);
    if (!from) return;
    pending.delete(header.id);
    from.writer.write({ id: from.id }, body, ID);
  });
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const writer = new FrameWriter(socket);
    readFrames(socket, (header, body) => {
      const id = ++nextId;
      pending.set(id, { writer, id: header.id });
      toChild.write({ id }, body, ID);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(`relay ${typeof address === 'object' && address ? address.port : 0}`);
  });
} else if (role === 'front') {
  const relay = spawn(process.execPath, [import.meta.filename, 'relay'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) =>
    relay.stdout.once('data', (d: Buffer) => resolve(Number(/relay (\d+)/.exec(String(d))![1]))),
  );
  const upstream = connect(port, '127.0.0.1');
  upstream.setNoDelay(true);
  const writer = new FrameWriter(upstream);
  const pending = new Map<number, (body: Buffer) => void>();
  let nextId = 0;
  readFrames(upstream, (header, body) => {
    const answer = pending.get(header.id);
    pending.delete(header.id);
    answer?.(body);
  });
  const server = createHttpServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = ++nextId;
      pending.set(id, (body) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      });
      writer.write({ id }, Buffer.concat(chunks));
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(
      `listening ${typeof address === 'object' && address ? address.port : 0} relay ${relay.pid}`,
    );
  });
} else {
  console.error('usage: frame-chain.ts front|relay|echo');
  process.exit(64);
}
