// The gateway's own endpoints (everything that is not a function route, bar
// the health probes) answer only callers holding the invoke token: functions
// can open sockets, and the pod network is not trusted. /internal/concurrency
// tells which functions of every namespace run and how busy they are, and
// /metrics the same in more detail. /healthz and /readyz stay open for
// probes; they say "ok" and nothing else.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { unauthorized } from './errors.ts';

/** Paths anyone may ask: liveness and readiness probes. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/** "authorization: Bearer <token>", the header the autoscaler and people send. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export class InternalAuth {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** Throws the gateway's 401 unless `path` is open or the request carries the token. */
  check(path: string, req: IncomingMessage): void {
    if (OPEN_PATHS.has(path)) return;
    const header = req.headers.authorization ?? '';
    const presented = /^Bearer (.+)$/i.exec(header)?.[1];
    // Compared as digests: equal lengths for timingSafeEqual, and no early
    // exit that would tell a caller how much of a guess was right.
    if (presented === undefined || !timingSafeEqual(digest(presented), this.#digest))
      throw unauthorized(path);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
