// A loopback address that answers no SYN, as a drained pod's IP does not: what
// a connect timeout is for. Linux drops a SYN to a listening socket whose
// accept queue is full (LINUX_MIB_LISTENOVERFLOWS), SYN cookies or not, so a
// listener with a backlog of 1 that never accepts, with its queue filled by
// connections that are never read, leaves every further connect waiting on
// SYN retransmits until its own timeout. The other ways do not fit: a free
// port on 127.0.0.0/8 refuses at once (RST); an iptables or nft DROP rule
// needs the tool, root and care not to outlive the test; a full Unix socket
// backlog fails a non-blocking connect at once (EAGAIN); and a routable
// address that answers nothing sends test traffic off the machine.
//
// The listener lives in a worker thread blocked in Atomics.wait: Node accepts
// every connection as soon as its event loop runs, and a blocked loop never
// runs, at no CPU cost. Nothing leaves loopback.
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface SynBlackHole {
  /** host:port where every connect waits unanswered. */
  address: string;
  host: string;
  port: number;
  /** Closes the fillers and the listener; the port then refuses (or is reused). */
  close(): Promise<void>;
}

/** CommonJS: an eval'd worker is not a module. Listens, says where, and blocks until told to close. */
const LISTENER = `
const { workerData, parentPort } = require('node:worker_threads');
const { createServer } = require('node:net');
const server = createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // Bounded, so that a test that never calls close() cannot leave it behind for long.
  Atomics.wait(workerData, 0, 0, 120000);
  server.close();
});
`;

/** A filler connection comes up at once while the queue has room; one that has not in this long was dropped. */
const QUEUE_FULL_AFTER_MS = 250;

export async function synBlackHole(): Promise<SynBlackHole> {
  const release = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(LISTENER, { eval: true, workerData: release });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const host = '127.0.0.1';
  const fillers: Socket[] = [];
  const close = async () => {
    for (const filler of fillers) filler.destroy();
    Atomics.store(release, 0, 1);
    Atomics.notify(release, 0);
    await exited;
  };
  // The queue holds backlog + 1 on current kernels; filled until a connect stalls, whatever it holds.
  for (let i = 0; i < 16; i++) {
    const filler = connect({ host, port });
    // Reset when the listener closes with it still queued.
    filler.on('error', () => {});
    fillers.push(filler);
    const queued = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), QUEUE_FULL_AFTER_MS);
      filler.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!queued) return { address: `${host}:${port}`, host, port, close };
  }
  await close();
  throw new Error(
    `Cannot make a SYN black hole: 16 connections to a listener with a backlog of 1 that never accepts all came up on ${host}:${port}`,
  );
}
