// HTTP by hand over a loopback socket, for tests of what a misbehaving client
// does: headers without a body, a byte at a time, a connection that sends
// nothing. Each function is bounded in time and closes what it opened.
import { connect, type Socket } from 'node:net';

export interface RawOutcome {
  /** "HTTP/1.1 429 Too Many Requests", or undefined if the server sent nothing. */
  statusLine: string | undefined;
  /** Everything the server sent. */
  text: string;
  /** Milliseconds from connecting until the server closed the connection, or until the cap. */
  closedAfterMs: number;
  closedByServer: boolean;
}

export function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Writes `chunks` (each after `gapMs`), then waits until the server closes
 * the connection or `capMs` passes; reports what came back and when.
 */
export async function rawExchange(
  url: string,
  chunks: string[],
  options: { gapMs?: number; capMs: number; untilResponse?: boolean },
): Promise<RawOutcome> {
  const started = Date.now();
  const socket = await openSocket(url);
  socket.on('error', () => undefined);
  let text = '';
  let closed = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (options.untilResponse && /\r\n\r\n/.test(text)) resolve();
    });
    socket.on('close', () => {
      closed = true;
      resolve();
    });
    setTimeout(resolve, options.capMs);
  });
  void (async () => {
    for (const chunk of chunks) {
      if (closed) return;
      socket.write(chunk);
      if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
    }
  })();
  await done;
  const closedAfterMs = Date.now() - started;
  socket.destroy();
  return {
    statusLine: text ? text.split('\r\n')[0] : undefined,
    text,
    closedAfterMs,
    closedByServer: closed,
  };
}

/** The text of a request whose headers are complete; the body, if any, follows separately. */
export function requestHead(
  path: string,
  headers: Record<string, string | number> = {},
  method = 'POST',
): string {
  const lines = Object.entries({ host: 'localhost', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}
