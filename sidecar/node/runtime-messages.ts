// What a function process says to the sidecar, checked before the sidecar
// acts on it. The runtime and the function's own code share one process, so
// anything on the channel may come from a hostile function rather than from
// runtime-node: process.send(null), a result that is not bytes, a log line
// that is an object graph. parseRuntimeMessage either returns a well-formed
// FromRuntime or throws RuntimeProtocolError, and the caller ends that one
// process: the function fails alone, never the sidecar.
import { RoostError } from '../../lib/errors.ts';
import type {
  FromRuntime,
  LogFrame,
  LogLevelName,
  ReplyFrame,
} from '../../runtime-node/protocol.ts';

export class RuntimeProtocolError extends RoostError {
  constructor(why: string) {
    super('ROOST_RUNTIME_PROTOCOL', `the function process broke the runtime protocol: ${why}`);
  }
}

const LOG_LEVELS: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const LOG_STREAMS = ['stdout', 'stderr', 'console'] as const;

/** The message as a FromRuntime, or throws RuntimeProtocolError naming the first field at fault. */
export function parseRuntimeMessage(raw: unknown): FromRuntime {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RuntimeProtocolError(`a message must be an object, not ${describe(raw)}`);
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'booted':
      return { type: 'booted' };
    case 'specialized':
      return { type: 'specialized', loadMs: finite(m, 'loadMs') };
    case 'specialize-failed':
      return { type: 'specialize-failed', ...failure(m) };
    case 'pong':
      return { type: 'pong', id: id(m) };
    default:
      throw field('type', 'a runtime message type', m.type);
  }
}

/** A frame's header from the invocation socket: a log line or a reply, checked like a message. */
export function parseInvocationFrame(raw: unknown): LogFrame | ReplyFrame {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RuntimeProtocolError(`a frame header must be an object, not ${describe(raw)}`);
  const m = raw as Record<string, unknown>;
  if ('type' in m) {
    if (m.type !== 'log') throw field('type', 'log or absent (a reply)', m.type);
    return {
      type: 'log',
      time: finite(m, 'time'),
      level: oneOf(m, 'level', LOG_LEVELS),
      requestId: text(m, 'requestId'),
      message: text(m, 'message'),
      stream: oneOf(m, 'stream', LOG_STREAMS),
    };
  }
  if (m.ok === true) {
    if (typeof m.hasResult !== 'boolean') throw field('hasResult', 'true or false', m.hasResult);
    return { id: id(m), ok: true, hasResult: m.hasResult, durationMs: finite(m, 'durationMs') };
  }
  if (m.ok === false)
    return { id: id(m), ok: false, durationMs: finite(m, 'durationMs'), ...failure(m) };
  throw field('ok', 'true or false', m.ok);
}

function failure(m: Record<string, unknown>) {
  const stackTrace = m.stackTrace;
  if (!Array.isArray(stackTrace) || !stackTrace.every((line) => typeof line === 'string'))
    throw field('stackTrace', 'a list of strings', stackTrace);
  return {
    errorType: text(m, 'errorType'),
    errorMessage: text(m, 'errorMessage'),
    stackTrace: stackTrace as string[],
  };
}

function id(m: Record<string, unknown>): number {
  const value = m.id;
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw field('id', 'a whole number', value);
  return value as number;
}

function finite(m: Record<string, unknown>, name: string): number {
  const value = m[name];
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw field(name, 'a finite number', value);
  return value;
}

function text(m: Record<string, unknown>, name: string): string {
  const value = m[name];
  if (typeof value !== 'string') throw field(name, 'a string', value);
  return value;
}

function oneOf<T extends string>(
  m: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
): T {
  const value = m[name];
  if (!allowed.includes(value as T)) throw field(name, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

const field = (name: string, want: string, got: unknown) =>
  new RuntimeProtocolError(`${name} must be ${want}, not ${describe(got)}`);

/** A short description of a value a function sent: never its whole content. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  return String(value as number | boolean | bigint | undefined);
}
