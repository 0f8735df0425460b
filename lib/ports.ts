import { createServer } from 'node:net';

/**
 * A TCP port that is free on `host` right now. The OS picks it, so two test
 * runs on one machine never collide on a fixed number; the caller binds it
 * soon after, and a lost race shows up as a start failure it can retry.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`Cannot find a free port on ${host}`));
      });
    });
  });
}
