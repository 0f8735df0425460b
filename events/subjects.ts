// Where events live in NATS JetStream, named in one place: a stream of
// pending events (a work queue: an event is removed once a gateway acks it)
// and a stream of dead letters, each with one subject per function.
//
// A function's subject carries its namespace and name. Names may hold dots,
// which NATS reads as token separators, and never underscores, so a dot is
// written as an underscore and read back the same way.

export const EVENTS_STREAM = 'ROOST_EVENTS';
export const DEAD_LETTER_STREAM = 'ROOST_DEAD_LETTERS';
/** The durable consumer every gateway pulls from: competing consumers share its deliveries. */
export const GATEWAY_CONSUMER = 'roost-gateways';

const EVENTS_PREFIX = 'roost.events';
const DEAD_PREFIX = 'roost.dead';
const OUTCOMES_PREFIX = 'roost.outcomes';
const WITHDRAWALS_PREFIX = 'roost.withdrawals';

export const ALL_EVENTS = `${EVENTS_PREFIX}.>`;
export const ALL_DEAD_LETTERS = `${DEAD_PREFIX}.>`;
/** Outcomes of events, announced (not stored) for whoever sent them to follow. */
export const ALL_OUTCOMES = `${OUTCOMES_PREFIX}.>`;
/** Requests to take back an event a gateway holds but has not started (answered, not stored). */
export const ALL_WITHDRAWALS = `${WITHDRAWALS_PREFIX}.>`;

export interface FunctionRef {
  namespace: string;
  name: string;
}

export const eventSubject = (fn: FunctionRef) => `${EVENTS_PREFIX}.${token(fn)}`;
export const deadLetterSubject = (fn: FunctionRef) => `${DEAD_PREFIX}.${token(fn)}`;
export const outcomeSubject = (fn: FunctionRef) => `${OUTCOMES_PREFIX}.${token(fn)}`;
export const withdrawalSubject = (fn: FunctionRef) => `${WITHDRAWALS_PREFIX}.${token(fn)}`;

/** The function a subject of either stream belongs to. */
export function functionOfSubject(subject: string): FunctionRef | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'roost') return undefined;
  return { namespace: parts[2]!, name: parts[3]!.replaceAll('_', '.') };
}

function token(fn: FunctionRef): string {
  return `${fn.namespace}.${fn.name.replaceAll('.', '_')}`;
}
