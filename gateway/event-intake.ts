// Accepting an event invocation: it is stored in the durable queue before the
// caller hears 202, so that an accepted event survives this gateway's death.
import type { EventQueue } from '../events/queue.ts';
import { errorMessage } from '../lib/errors.ts';
import { GatewayError } from './errors.ts';
import type { FunctionEntry } from './function-table.ts';

/**
 * Largest event accepted for asynchronous invocation: Lambda's historic
 * limit, and well under NATS's default message size (1 MiB), so that a
 * broker with its defaults takes every event the gateway accepts.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

export const eventsUnavailable = (why: string) =>
  new GatewayError(503, 'ROOST_EVENTS_UNAVAILABLE', `Cannot accept an event invocation: ${why}`, {
    retryAfterSeconds: 1,
  });

export async function queueEvent(
  queue: EventQueue | undefined,
  fn: FunctionEntry,
  event: {
    requestId: string;
    payload: Buffer;
    source: string;
    metadata: Record<string, string>;
    /** The alias, tag or revision asked for; resolved when the event runs. */
    qualifier: string | undefined;
  },
): Promise<void> {
  if (!queue) throw eventsUnavailable('this gateway has no event queue (--events-url)');
  try {
    await queue.publish({
      namespace: fn.namespace,
      name: fn.name,
      requestId: event.requestId,
      payload: event.payload,
      source: event.source,
      acceptedAt: Date.now(),
      attempts: 0,
      notBefore: 0,
      metadata: event.metadata,
      ...(event.qualifier ? { qualifier: event.qualifier } : {}),
    });
  } catch (err) {
    throw eventsUnavailable(errorMessage(err));
  }
}
