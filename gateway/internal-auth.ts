// The gateway's own endpoints (everything that is not a function route, bar
// the health probes) answer only callers holding the invoke token: functions
// can open sockets, and the pod network is not trusted. /internal/concurrency
// tells which functions of every namespace run and how busy they are, and
// /metrics the same in more detail. /healthz and /readyz stay open for
// probes; they say "ok" and nothing else.
import type { IncomingMessage } from 'node:http';
import { BearerToken } from '../lib/bearer-token.ts';
import { unauthorized } from './errors.ts';

export { bearer } from '../lib/bearer-token.ts';

/** Paths anyone may ask: liveness and readiness probes. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export class InternalAuth {
  readonly #token: BearerToken;

  constructor(token: string) {
    this.#token = new BearerToken(token);
  }

  /** Whether the request carries the invoke token. */
  accepts(req: IncomingMessage): boolean {
    return this.#token.accepts(req);
  }

  /** Throws the gateway's 401 unless `path` is open or the request carries the token. */
  check(path: string, req: IncomingMessage): void {
    if (OPEN_PATHS.has(path)) return;
    if (!this.#token.accepts(req)) throw unauthorized(path);
  }
}
