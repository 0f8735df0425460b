// The gateway's internal endpoints for the event queue, which `roost events`
// calls (with the invoke token, like every /internal/ path): a function's
// dead letters, and replaying them. The CLI reaches a gateway in every setup
// (roost dev, port-forward), so it needs no way to the broker of its own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeadLetter } from '../events/event.ts';
import type { EventQueue } from '../events/queue.ts';
import { errorMessage } from '../lib/errors.ts';
import { badRequest, GatewayError } from './errors.ts';
import { eventsUnavailable } from './event-intake.ts';

export const DEAD_LETTERS_PATH = '/internal/events/dead-letters';
export const REPLAY_PATH = '/internal/events/replay';

/** A dead letter as JSON: the event as text when it is UTF-8 JSON, else base64. */
export interface DeadLetterJson {
  sequence: number;
  requestId: string;
  source: string;
  reason: string;
  message: string;
  attempts: number;
  acceptedAt: string;
  failedAt: string;
  event: unknown;
}

export async function serveEventsApi(
  queue: EventQueue | undefined,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    if (!queue) throw eventsUnavailable('this gateway has no event queue (--events-url)');
    const query = new URL(req.url ?? '/', 'http://gateway').searchParams;
    const namespace = query.get('namespace');
    const name = query.get('name');
    if (!namespace || !name) throw badRequest(`${path} needs ?namespace=...&name=...`);
    if (path === DEAD_LETTERS_PATH) {
      const letters = await queue.deadLetters({ namespace, name });
      return reply(res, 200, { deadLetters: letters.map(toJson) });
    }
    if (req.method !== 'POST') throw new GatewayError(405, 'ROOST_METHOD', `${path} takes POST`);
    const ids = query.getAll('id');
    const replayed = await queue.replay({ namespace, name }, ids.length ? new Set(ids) : undefined);
    return reply(res, 200, { replayed: replayed.map(toJson) });
  } catch (err) {
    const error = err instanceof GatewayError ? err : eventsUnavailable(errorMessage(err));
    return reply(res, error.status, { error: { code: error.code, message: error.message } });
  }
}

function toJson(letter: DeadLetter): DeadLetterJson {
  const text = Buffer.from(letter.payload).toString('utf8');
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    event = { base64: Buffer.from(letter.payload).toString('base64') };
  }
  return {
    sequence: letter.sequence,
    requestId: letter.requestId,
    source: letter.source,
    reason: letter.reason,
    message: letter.message,
    attempts: letter.attempts,
    acceptedAt: new Date(letter.acceptedAt).toISOString(),
    failedAt: new Date(letter.failedAt).toISOString(),
    event,
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
