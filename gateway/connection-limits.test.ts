// A real HTTP server on loopback with the gateway's connection limits: idle
// keep-alive connections make way for new clients as the cap nears.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../lib/log.ts';
import { openSocket } from '../test/support/raw-http.ts';
import { applyConnectionLimits, serverOptions } from './connection-limits.ts';
import { DEFAULT_GATEWAY_LIMITS } from './limits.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

test('near the cap, idle keep-alive connections are closed so that new clients are served', async () => {
  const limits = { ...DEFAULT_GATEWAY_LIMITS, maxConnections: 10 };
  const server = createServer(serverOptions(limits), (_req, res) => res.end('ok'));
  applyConnectionLimits(server, limits, createLogger('test'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Twenty clients one after another, each leaving its connection open and idle.
  let closedByServer = 0;
  for (let i = 0; i < 20; i++) {
    const socket = await openSocket(url);
    cleanups.push(() => socket.destroy());
    socket.on('close', () => closedByServer++);
    const answered = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.endsWith('ok')) resolve(text);
      });
    });
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await answered).toMatch(/^HTTP\/1.1 200 OK/);
  }
  // Every client was served, and the server kept no more than its cap open.
  expect(closedByServer).toBeGreaterThanOrEqual(10);
});

test('a header timeout longer than the request timeout is refused with a clear error', () => {
  expect(() =>
    serverOptions({ ...DEFAULT_GATEWAY_LIMITS, headersTimeoutMs: 5000, requestTimeoutMs: 1000 }),
  ).toThrow(/header timeout \(5000 ms\) must not be longer than the request timeout/);
});
