// The sidecar's side of the invocation transport (proto/invoke-frames.ts):
// connections that opened with the invocation preface on the sidecar's port.
// A connection is refused unless its first frame carries the invoke token;
// until then it may send no more than a hello's worth of bytes, so a stranger
// (a function in this pod among them) can neither invoke nor make the
// sidecar buffer. Answers are written as invocations finish; when a
// gateway stops reading them, the connection stops being read too, and one
// whose unread answers pass maxUnreadBytes is closed: a slow reader holds at
// most that much of the sidecar's memory, never a growing queue.
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { InvokeResponse, Rejection } from '../proto/sandbox-host.ts';
import {
  INVOKE_HEADER,
  MAX_INVOKE_FRAME_BYTES,
  RESULT_HEADER,
  type InvokeFrame,
  type RefusedFrame,
  type ResultFrame,
  type WelcomeFrame,
} from '../proto/invoke-frames.ts';
import { FrameReader, FrameWriter } from '../runtime-node/frames.js';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { InvocationRequest } from './invocation.ts';

/** A hello frame is a token and a few bytes of JSON; nothing larger is read from a stranger. */
const HELLO_MAX_BYTES = 4096;
/** A connection that has not shown the token by then is closed: a stranger holds no socket for long. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Answers a connection may leave unread before it is closed (default). */
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;

export interface InvokeFramesServerOptions {
  token: string;
  /** Runs one invocation; throws to reject it. */
  invoke: (request: InvocationRequest) => Promise<InvokeResponse>;
  /** What a thrown error means to the gateway. */
  rejectionOf: (err: unknown) => Rejection;
  log: Logger;
  /** Largest frame read once the peer is authorised (default MAX_INVOKE_FRAME_BYTES). */
  maxFrameBytes?: number;
  /** Unread answers over this close the connection (default 64 MiB). */
  maxUnreadBytes?: number;
}

interface Connection {
  socket: Socket;
  writer: FrameWriter;
  running: number;
  closing: boolean;
  /** The gateway's hello offered binary headers: answers go with RESULT_HEADER. */
  binary: boolean;
}

export class InvokeFramesServer {
  readonly #options: InvokeFramesServerOptions;
  readonly #token: Buffer;
  readonly #connections = new Set<Connection>();
  readonly #idle = new Set<() => void>();

  constructor(options: InvokeFramesServerOptions) {
    this.#options = options;
    this.#token = Buffer.from(options.token);
  }

  /** Serves a connection whose preface has been read; `rest` is what came after it. */
  serve(socket: Socket, rest: Buffer): void {
    const connection: Connection = {
      socket,
      writer: new FrameWriter(socket),
      running: 0,
      closing: false,
      binary: false,
    };
    this.#connections.add(connection);
    socket.setNoDelay(true);
    let authorised = false;
    let refused = false;
    const refuse = (frame: Omit<RefusedFrame, 'type'>) => {
      if (refused) return;
      refused = true;
      socket.pause();
      if (!socket.destroyed) connection.writer.write({ type: 'refused', ...frame });
      socket.end();
      // A peer that will not close its side is not waited for.
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const helloTimer = setTimeout(
      () => refuse({ code: status.UNAUTHENTICATED, message: 'no hello frame in time' }),
      HELLO_TIMEOUT_MS,
    );
    helloTimer.unref();
    const reader = new FrameReader({
      maxFrameBytes: HELLO_MAX_BYTES,
      codecs: [INVOKE_HEADER],
      onFrame: (header: Record<string, unknown>, body: Buffer) => {
        if (refused || connection.closing) return;
        if (!authorised) {
          if (header.type !== 'hello' || !this.#tokenMatches(header.token)) {
            refuse({
              code: status.UNAUTHENTICATED,
              message: 'a valid invoke token is required (a hello frame with the token)',
            });
            return;
          }
          authorised = true;
          clearTimeout(helloTimer);
          reader.maxFrameBytes = this.#options.maxFrameBytes ?? MAX_INVOKE_FRAME_BYTES;
          if (header.binaryHeaders === true) {
            connection.binary = true;
            const welcome: WelcomeFrame = { type: 'welcome', binaryHeaders: true };
            connection.writer.write(welcome);
          }
          return;
        }
        const id = header.id;
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
          refuse({
            code: status.INVALID_ARGUMENT,
            message: 'an invocation frame needs a numeric id',
          });
          return;
        }
        this.#run(connection, id, header, body);
      },
    });
    const read = (chunk: Buffer) => {
      if (refused) return;
      try {
        reader.push(chunk);
      } catch (err) {
        refuse({
          code:
            (err as { code?: string }).code === 'ROOST_FRAME_TOO_LARGE'
              ? status.RESOURCE_EXHAUSTED
              : status.INVALID_ARGUMENT,
          message: errorMessage(err),
        });
      }
    };
    socket.on('data', read);
    socket.on('error', (err) =>
      this.#options.log.debug({ err: err.message }, 'invocation connection failed'),
    );
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.#connections.delete(connection);
      this.#settle();
    });
    if (rest.length > 0) read(rest);
  }

  /**
   * Stops reading new invocations, lets those running answer for up to
   * graceMs, then closes every connection.
   */
  async close(graceMs: number): Promise<void> {
    for (const connection of this.#connections) {
      connection.closing = true;
      connection.socket.pause();
      // end(), not destroy(): answers still held for this turn's write must leave first.
      if (connection.running === 0) connection.socket.end();
    }
    if (this.#connections.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, graceMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#idle.add(done);
    });
    for (const connection of this.#connections) connection.socket.destroy();
  }

  #run(connection: Connection, id: number, header: Record<string, unknown>, body: Buffer): void {
    const frame = header as unknown as InvokeFrame;
    const { socket } = connection;
    connection.running++;
    const invalid = invalidField(frame);
    const answer = invalid
      ? Promise.reject(new InvalidInvokeFrame(invalid))
      : this.#options.invoke({
          namespace: frame.namespace,
          sandbox: frame.sandbox,
          requestId: frame.requestId,
          payload: body,
          timeoutMs: frame.timeoutMs,
          tailLogs: frame.tailLogs === true,
          format: frame.format ?? 'json',
        });
    answer
      .then(
        (response) => this.#answer(connection, resultFrame(id, response), response.result),
        (err: unknown) =>
          this.#answer(
            connection,
            resultFrame(
              id,
              undefined,
              err instanceof InvalidInvokeFrame ? err.rejection : this.#options.rejectionOf(err),
            ),
          ),
      )
      .finally(() => {
        connection.running--;
        if (connection.closing && connection.running === 0) socket.end();
        this.#settle();
      });
  }

  /** Writes an answer; a full send buffer stops the reading of new invocations until it drains. */
  #answer(connection: Connection, header: ResultFrame, result?: Uint8Array): void {
    const { socket } = connection;
    if (socket.destroyed || !socket.writable) return;
    if (connection.writer.write(header, result, connection.binary ? RESULT_HEADER : undefined))
      return;
    if (socket.writableLength > (this.#options.maxUnreadBytes ?? MAX_UNREAD_BYTES)) {
      this.#options.log.warn(
        { remote: socket.remoteAddress, unreadBytes: socket.writableLength },
        'closing an invocation connection whose peer does not read its answers',
      );
      socket.destroy();
      return;
    }
    if (socket.isPaused()) return;
    socket.pause();
    socket.once('drain', () => {
      if (!connection.closing) socket.resume();
    });
  }

  #settle(): void {
    if (this.#idle.size === 0) return;
    const busy = [...this.#connections].some((c) => c.running > 0 && !c.socket.destroyed);
    if (busy) return;
    for (const done of this.#idle) done();
    this.#idle.clear();
  }

  #tokenMatches(given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const bytes = Buffer.from(given);
    return bytes.length === this.#token.length && timingSafeEqual(bytes, this.#token);
  }
}

class InvalidInvokeFrame extends Error {
  readonly rejection: Rejection;
  constructor(message: string) {
    super(message);
    this.rejection = { code: status.INVALID_ARGUMENT, message, notInvoked: true };
  }
}

/** The first field of an invocation frame that is missing or of the wrong type. */
function invalidField(frame: InvokeFrame): string | undefined {
  for (const field of ['namespace', 'sandbox', 'requestId'] as const)
    if (typeof frame[field] !== 'string' || frame[field] === '')
      return `invocation frame ${frame.id}: ${field} must be a non-empty string`;
  if (typeof frame.timeoutMs !== 'number' || !(frame.timeoutMs > 0))
    return `invocation frame ${frame.id}: timeoutMs must be a positive number`;
  if (frame.format !== undefined && frame.format !== 'json' && frame.format !== 'http-request')
    return `invocation frame ${frame.id}: format must be json or http-request`;
  return undefined;
}

function resultFrame(id: number, response?: InvokeResponse, rejection?: Rejection): ResultFrame {
  return {
    id,
    error: response?.error ?? 'FUNCTION_ERROR_NONE',
    errorType: response?.errorType ?? '',
    errorMessage: response?.errorMessage ?? '',
    stackTrace: response?.stackTrace ?? [],
    durationMs: response?.durationMs ?? 0,
    memoryBytes: response?.memoryBytes ?? 0,
    coldStart: response?.coldStart ?? false,
    cpuMicros: response?.cpuMicros ?? 0,
    logTail: response?.logTail ?? '',
    rejection: rejection ?? null,
  };
}
