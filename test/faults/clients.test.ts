// The fault suite, abusive clients at the gateway's defaults: thousands of
// idle keep-alive connections, a slowloris crowd sending a header byte a
// second, and connections sending malformed HTTP (garbage request lines,
// oversized and too many headers, smuggling attempts, bad framing), all
// at once, while a real client keeps calling a function through the same
// gateway. The real client sees no failure; every malformed request gets a
// 4xx or is closed, never a 5xx; the gateway stays within its memory and is
// still serving afterwards. Its own control plane, as the other fault files.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Namespaces } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { sleep } from '../../lib/duration.ts';
import { startControlPlane, type ControlPlane } from '../../testenv/control-plane.ts';
import { deployNodeFunction } from '../support/deployments.ts';
import { rawExchange } from '../support/raw-http.ts';
import { startRoostSystem, type RoostSystem } from '../support/roost-system.ts';
import { report, SteadyLoad } from './support/load.ts';

const namespace = 'faults-clients';
const IDLE = 3000;
const SLOWLORIS = 200;
/** Resident memory the gateway may reach under all of it (it starts near 100 MiB). */
const RSS_BOUND_MIB = 512;

let controlPlane: ControlPlane;
let client: KubeClient;
let system: RoostSystem;
let load: SteadyLoad | undefined;
const sockets: Socket[] = [];

beforeAll(async () => {
  controlPlane = await startControlPlane();
  client = controlPlane.client();
  await client.create(Namespaces, { metadata: { name: namespace } });
  system = await startRoostSystem({
    namespace,
    kubeconfig: controlPlane.kubeconfigPath,
    hosts: [{ name: 'host-1' }],
  });
  await deployNodeFunction(client, {
    namespace,
    name: 'hello',
    replicas: 2,
    source: `export const handler = async () => 'hello';`,
  });
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await load?.stop();
  await system?.stop();
  client?.close();
  await controlPlane?.stop();
});

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/** A connection that made one request, read its answer, and now sits idle, kept alive. */
function idleKeepAlive(url: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () =>
      socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\nok\n')) resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A connection that sends a request line, then one header byte a second. */
function slowloris(url: URL): Socket {
  const socket = connect(Number(url.port), url.hostname, () =>
    socket.write(`GET /fn/${namespace}/hello HTTP/1.1\r\nHost: x\r\n`),
  );
  socket.on('error', () => undefined);
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer);
    else socket.write('X');
  }, 1000);
  socket.on('close', () => clearInterval(timer));
  return socket;
}

/**
 * Malformed HTTP a client can send; each must be answered 4xx or closed. (A
 * body that stops short waits for the 60 s request timeout:
 * test/gateway-abuse.test.ts.)
 */
const MALFORMED: Record<string, string[]> = {
  'binary garbage': ['\u0000\u0001\u0002\u00ff\u00fe garbage \r\n\r\n'],
  'no HTTP version': ['GET /fn/x/y\r\n\r\n'],
  'HTTP/9.9': ['GET / HTTP/9.9\r\nHost: x\r\n\r\n'],
  'a space in the method': ['G ET / HTTP/1.1\r\nHost: x\r\n\r\n'],
  'a header of 64 KiB': [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`],
  '2000 headers': [
    `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`,
  ],
  'a header without a colon': ['GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
  'a line break inside a header': ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'],
  'content-length and transfer-encoding (smuggling)': [
    `POST /fn/${namespace}/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`,
  ],
  'two content-lengths': [
    `POST /fn/${namespace}/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
  ],
  'a negative content-length': [
    `POST /fn/${namespace}/hello HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
  ],
  'bad chunk sizes': [
    `POST /fn/${namespace}/hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
  ],
};

test(`${IDLE} idle keep-alive connections, ${SLOWLORIS} slowloris clients and malformed HTTP at once: real traffic never fails`, async () => {
  const url = new URL(system.gateway.url);
  const gatewayPid = system.gateway.process.pid!;
  const rssBefore = rssMiB(gatewayPid);
  load = new SteadyLoad(system.functionUrl('hello'), 100);
  await sleep(1000);
  const startedAt = Date.now();

  for (let opened = 0; opened < IDLE; opened += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => idleKeepAlive(url)));
    sockets.push(...batch);
  }
  for (let i = 0; i < SLOWLORIS; i++) sockets.push(slowloris(url));
  const malformed = await Promise.all(
    Object.entries(MALFORMED).flatMap(([what, chunks]) =>
      // Twenty of each, all at once.
      Array.from({ length: 20 }, async () => {
        const outcome = await rawExchange(system.gateway.url, chunks, {
          capMs: 15_000,
          untilResponse: true,
        });
        return { what, statusLine: outcome.statusLine, closed: outcome.closedByServer };
      }),
    ),
  );
  let rssPeak = rssMiB(gatewayPid);
  // The slowloris crowd keeps sending past the 10 s header timeout.
  for (let i = 0; i < 12; i++) {
    await sleep(1000);
    rssPeak = Math.max(rssPeak, rssMiB(gatewayPid));
  }
  const idleStillOpen = sockets.slice(0, IDLE).filter((s) => !s.destroyed).length;
  const slowlorisClosed = sockets.slice(IDLE).filter((s) => s.destroyed).length;
  await load.stop();

  const { sent, failed } = load.since(startedAt);
  const answers = new Map<string, number>();
  for (const m of malformed) {
    const key = `${m.what}: ${m.statusLine ?? (m.closed ? 'closed' : 'no answer')}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  report({
    fault: `${IDLE} idle keep-alive connections, ${SLOWLORIS} slowloris clients, ${malformed.length} malformed requests, at once`,
    load: '10 invocations/s of a function through the same gateway',
    sent,
    failed: failed.length,
    recoveredInMs: undefined,
    note: `nothing expected to fail. ${idleStillOpen} idle connections still open (keep-alive timeout 65 s), ${slowlorisClosed} of ${SLOWLORIS} slowloris connections closed at the 10 s header timeout; gateway RSS ${rssBefore.toFixed(0)} MiB before, ${rssPeak.toFixed(0)} MiB at most; malformed answered: ${[...answers.keys()].map((k) => k.replace(/\s*:\s*HTTP\/1\.1/, ':')).join('; ')}`,
  });
  expect(failed.map((o) => `${o.sentAt - startedAt} ms: ${o.status} ${o.error}`)).toEqual([]);
  for (const m of malformed) {
    const status = Number(m.statusLine?.split(' ')[1] ?? 0);
    const refused = (status >= 400 && status < 500) || (!m.statusLine && m.closed);
    expect(refused, `${m.what}: ${m.statusLine ?? 'no answer'}`).toBe(true);
  }
  expect(slowlorisClosed).toBe(SLOWLORIS);
  expect(rssPeak).toBeLessThan(RSS_BOUND_MIB);
  // Still serving, and it lets go of the crowd.
  for (const socket of sockets) socket.destroy();
  const after = await fetch(system.functionUrl('hello'));
  expect(after.status).toBe(200);
  expect(system.gateway.process.exit).toBeUndefined();
});
