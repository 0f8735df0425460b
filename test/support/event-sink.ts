// An HTTP server a test's functions report to (functions may open network
// connections): each POST /<key> records its body under that key, so that a
// test can see which events ran, how often, and when.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRecord {
  key: string;
  body: string;
  /** Unix ms when it arrived. */
  at: number;
}

export interface EventSink {
  url: string;
  records: SinkRecord[];
  /** Records under a key. */
  of(key: string): SinkRecord[];
  stop(): Promise<void>;
}

export async function startEventSink(): Promise<EventSink> {
  const records: SinkRecord[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      records.push({
        key: decodeURIComponent((req.url ?? '/').slice(1)),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    of: (key) => records.filter((r) => r.key === key),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
