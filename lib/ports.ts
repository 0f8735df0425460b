import { createServer } from 'node:net';

/**
 * A TCP port that is free on `host` right now. The OS picks it, so two test
 * runs on one machine never collide on a fixed number; the caller binds it
 * soon after, and a lost race shows up as a start failure it can retry.
 * With `preferred`, that port if it is free.
 */
export function freePort(host = '127.0.0.1', preferred = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    // A preferred port that is taken falls back to one the OS picks.
    server.on('error', (err: NodeJS.ErrnoException) =>
      preferred && err.code === 'EADDRINUSE' ? resolve(freePort(host)) : reject(err),
    );
    server.listen(preferred, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`Cannot find a free port on ${host}`));
      });
    });
  });
}
