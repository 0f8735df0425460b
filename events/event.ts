// An event invocation as it waits in the queue: the event (the payload, as
// the function receives it) and, in NATS headers, what the gateway needs to
// run it and what a person needs to see where it came from. The request id is
// fixed when the event is accepted and stays the same on every try and on a
// replay, so that a handler can tell a retry from a new event.
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { FunctionRef } from './subjects.ts';

export interface QueuedEvent extends FunctionRef {
  requestId: string;
  payload: Uint8Array;
  /** Who sent it: invoke-api, http, cron/<trigger>, replay. */
  source: string;
  /** When it was first accepted (Unix ms): its age counts from here, across retries and replays. */
  acceptedAt: number;
  /** Tries already made that ended in the function's failure. */
  attempts: number;
  /** Not to be tried before this time (Unix ms): the back-off after a failed try. */
  notBefore: number;
  /** Invocation metadata passed to the function (the HTTP method and path of an HTTP event). */
  metadata: Record<string, string>;
  /**
   * The alias, tag or revision the event was sent to (`name@qualifier`);
   * resolved when it runs, as a synchronous call is when it arrives. Unset:
   * the function's default route.
   */
  qualifier?: string;
}

export interface DeadLetter extends QueuedEvent {
  /** Sequence in the dead-letter stream: what `roost events replay --id` names. */
  sequence: number;
  /** FunctionError, EventAgeExceeded, FunctionNotFound, ... */
  reason: string;
  message: string;
  failedAt: number;
}

const H = {
  requestId: 'Roost-Request-Id',
  source: 'Roost-Source',
  acceptedAt: 'Roost-Accepted-At',
  attempts: 'Roost-Attempts',
  notBefore: 'Roost-Not-Before',
  metadata: 'Roost-Metadata',
  qualifier: 'Roost-Qualifier',
  reason: 'Roost-Failure-Reason',
  message: 'Roost-Failure-Message',
  failedAt: 'Roost-Failed-At',
} as const;

export function eventHeaders(event: QueuedEvent, failure?: DeadLetterFailure): MsgHdrs {
  const h = natsHeaders();
  h.set(H.requestId, event.requestId);
  h.set(H.source, event.source);
  h.set(H.acceptedAt, String(event.acceptedAt));
  h.set(H.attempts, String(event.attempts));
  h.set(H.notBefore, String(event.notBefore));
  if (Object.keys(event.metadata).length > 0) h.set(H.metadata, JSON.stringify(event.metadata));
  if (event.qualifier) h.set(H.qualifier, event.qualifier);
  if (failure) {
    h.set(H.reason, failure.reason);
    // Header values are one line.
    h.set(H.message, failure.message.replace(/[\r\n]+/g, ' ').slice(0, 1024));
    h.set(H.failedAt, String(failure.failedAt));
  }
  return h;
}

export interface DeadLetterFailure {
  reason: string;
  message: string;
  failedAt: number;
}

export function readEvent(
  fn: FunctionRef,
  headers: MsgHdrs | undefined,
  payload: Uint8Array,
): QueuedEvent {
  const get = (name: string) => headers?.get(name) ?? '';
  let metadata: Record<string, string> = {};
  try {
    const text = get(H.metadata);
    if (text) metadata = JSON.parse(text) as Record<string, string>;
  } catch {
    // Written by a gateway; a broken one is dropped rather than failing the event.
  }
  return {
    ...fn,
    requestId: get(H.requestId),
    payload,
    source: get(H.source),
    acceptedAt: Number(get(H.acceptedAt)) || Date.now(),
    attempts: Number(get(H.attempts)) || 0,
    notBefore: Number(get(H.notBefore)) || 0,
    metadata,
    ...(get(H.qualifier) ? { qualifier: get(H.qualifier) } : {}),
  };
}

export function readDeadLetter(
  fn: FunctionRef,
  sequence: number,
  headers: MsgHdrs | undefined,
  payload: Uint8Array,
): DeadLetter {
  return {
    ...readEvent(fn, headers, payload),
    sequence,
    reason: headers?.get(H.reason) ?? '',
    message: headers?.get(H.message) ?? '',
    failedAt: Number(headers?.get(H.failedAt)) || 0,
  };
}
