// Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, held
// in memory (a restart logs everyone out, which a one-time link fixes). The
// number kept is bounded; the oldest goes first.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'roost_console';

/** Who is behind a session: the holder of a login link, or a Kubernetes user by token. */
export type Principal =
  | { kind: 'link' }
  | {
      kind: 'user';
      username: string;
      uid?: string;
      groups: string[];
      extra?: Record<string, string[]>;
    };

export interface Session {
  id: string;
  principal: Principal;
  expiresAt: number;
}

export interface SessionStoreOptions {
  ttlMs?: number;
  max?: number;
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: SessionStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 8 * 3600_000;
    this.#max = options.max ?? 1000;
  }

  create(principal: Principal, now = Date.now()): Session {
    while (this.#sessions.size >= this.#max)
      this.#sessions.delete(this.#sessions.keys().next().value!);
    const session = {
      id: randomBytes(32).toString('base64url'),
      principal,
      expiresAt: now + this.#ttlMs,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session named by the request's cookie, if any. */
  fromRequest(req: IncomingMessage, now = Date.now()): Session | undefined {
    const id = cookie(req, SESSION_COOKIE);
    const session = id ? this.#sessions.get(id) : undefined;
    if (!session) return undefined;
    if (session.expiresAt <= now) {
      this.#sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Set-Cookie for a session; `secure` when the console is served over HTTPS. */
  cookieFor(session: Session, secure: boolean): string {
    const maxAge = Math.floor(this.#ttlMs / 1000);
    return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}
