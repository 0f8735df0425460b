// Abusive clients for the fault suite, over raw sockets: connections that
// sit idle after one request, that send a header byte a second (slowloris),
// and requests that are not HTTP a server should take.
import { connect, type Socket } from 'node:net';

/** A connection that made one request, read its answer, and now sits idle, kept alive. */
export function idleKeepAlive(url: URL): Promise<Socket> {
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
export function slowloris(url: URL, path: string): Socket {
  const socket = connect(Number(url.port), url.hostname, () =>
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n`),
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
export function malformedRequests(path: string): Record<string, string[]> {
  return {
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
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`,
    ],
    'two content-lengths': [
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
    ],
    'a negative content-length': [`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`],
    'bad chunk sizes': [
      `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    ],
  };
}
