// "authorization: Bearer <token>": how the autoscaler and people show the
// invoke token to Roost's own endpoints (the gateway's /internal and
// /metrics, the controller's and the sidecar's /metrics).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header to send. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export class BearerToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** Whether the request carries the token. */
  accepts(req: IncomingMessage): boolean {
    const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    // Compared as digests: equal lengths for timingSafeEqual, and no early
    // exit that would tell a caller how much of a guess was right.
    return presented !== undefined && timingSafeEqual(digest(presented), this.#digest);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
