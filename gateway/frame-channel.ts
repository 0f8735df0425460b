// The gateway's side of the invocation transport (proto/invoke-frames.ts):
// one TCP connection per sidecar, opened on first use with the preface and
// the invoke token, carrying every invocation for that sidecar multiplexed by
// id. A broken connection fails what was on it and is reopened by the next
// invocation. Whether a failed invocation may be retried elsewhere is decided
// here, where it is known: nothing was delivered if the connection never came
// up or the sidecar refused it before reading a frame. A connection that does
// not come up within connectTimeoutMs is given up on, so that a sidecar whose
// pod IP vanished costs its invocations that long, not TCP's SYN retransmits.
import { connect, type Socket } from 'node:net';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { InvokeResponse } from '../proto/sandbox-host.ts';
import {
  INVOKE_HEADER,
  INVOKE_PREFACE,
  MAX_INVOKE_FRAME_BYTES,
  RESULT_HEADER,
  type HelloFrame,
  type InvokeFrame,
  type RefusedFrame,
  type ResultFrame,
  type WelcomeFrame,
} from '../proto/invoke-frames.ts';
import { FrameReader, FrameWriter } from '../runtime-node/frames.js';
import { decodeHttpRequest, functionUrlEventJson } from '../runtime-node/function-url-event.js';
import {
  ChannelBroken,
  ChannelTimeout,
  ConnectTimeout,
  InvocationRejected,
  type ChannelInvocation,
  type InvocationChannel,
} from './invocation-channel.ts';

/**
 * How long a connection may take to come up. A sidecar answers a SYN within
 * a round trip (a Unix socket at once); one that has not in a second lost the
 * SYN or is gone, as a pod IP is in a node drain, where Linux's SYN
 * retransmits (at 1 s, 3 s, 7 s...) held invocations up to 3.65 s in CI
 * before the invoker could try another Sandbox. Either way, another Sandbox
 * answers sooner.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

interface Pending {
  resolve: (response: InvokeResponse) => void;
  reject: (err: Error) => void;
  /** performance.now() past which it fails with ChannelTimeout. */
  deadline: number;
  timeoutMs: number;
  /** The connection it was sent on: only that one's failure fails it. */
  connection: Connection;
}

/** What one open connection knows about itself. */
interface Connection {
  socket: Socket;
  writer: FrameWriter;
  /** The TCP connection came up: frames written may have reached the sidecar. */
  connected: boolean;
  /** The sidecar refused the hello: nothing sent on this connection ran. */
  refused: RefusedFrame | undefined;
  /** The sidecar's welcome said it reads binary headers: invocations go with INVOKE_HEADER. */
  binary: boolean;
}

export class FrameChannel implements InvocationChannel {
  readonly address: string;
  readonly #connectTo: { host: string; port: number } | { path: string };
  readonly #token: string | (() => string);
  readonly #preface: boolean;
  readonly #offerBinaryHeaders: boolean;
  readonly #maxFrameBytes: number;
  readonly #connectTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  #connection: Connection | undefined;
  #nextId = 1;
  /**
   * One timer for every pending invocation, set for the earliest deadline,
   * instead of a timer each: a timer per invocation was a Timeout object, a
   * list insert and a removal on every request. Unref'd: while anything is
   * pending the connection holds the process open, and its close fails it.
   */
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  /**
   * `address`: host:port of a sidecar, or unix:/path of a Unix socket (the
   * JVM bridge's invocation socket, which takes no preface). `token` is read
   * at each connection when it is a function: a peer that restarts may come
   * back with a new one. `binaryHeaders` offers them in the hello (a sidecar
   * and the JVM bridge welcome the offer; a peer that predates binary headers
   * does not, and the channel keeps to JSON). A connection not up within
   * `connectTimeoutMs` (default DEFAULT_CONNECT_TIMEOUT_MS) fails its
   * invocations with ChannelBroken, notInvoked, caused by ConnectTimeout.
   */
  constructor(
    address: string,
    token: string | (() => string),
    options: {
      maxFrameBytes?: number;
      preface?: boolean;
      binaryHeaders?: boolean;
      connectTimeoutMs?: number;
    } = {},
  ) {
    this.address = address;
    if (address.startsWith('unix:')) {
      this.#connectTo = { path: address.slice('unix:'.length) };
    } else {
      const colon = address.lastIndexOf(':');
      this.#connectTo = {
        host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
        port: Number(address.slice(colon + 1)),
      };
    }
    this.#token = token;
    this.#preface = options.preface ?? true;
    this.#offerBinaryHeaders = options.binaryHeaders ?? false;
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_INVOKE_FRAME_BYTES;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    // setTimeout fires at once for a delay past 2^31 - 1 ms: refused, not misread.
    if (!(this.#connectTimeoutMs > 0 && this.#connectTimeoutMs <= 2 ** 31 - 1))
      throw new RangeError(
        `Cannot make a channel to ${address}: connectTimeoutMs must be from 1 to 2147483647 ms, not ${this.#connectTimeoutMs}`,
      );
  }

  /** Sends one invocation; throws InvocationRejected, ChannelBroken or ChannelTimeout. */
  invoke(request: ChannelInvocation, timeoutMs: number): Promise<InvokeResponse> {
    const connection = this.#open();
    const id = this.#nextId++;
    let payload = request.payload;
    let format = request.format ?? 'json';
    // A peer that has not welcomed binary headers may predate the compact request: it gets the event.
    if (format === 'http-request' && !connection.binary) {
      payload = functionUrlEventJson(decodeHttpRequest(payload));
      format = 'json';
    }
    // A frame the sidecar would refuse is not sent: the refusal would close the
    // connection under every other invocation on it.
    if (payload.length + 4096 > this.#maxFrameBytes)
      return Promise.reject(
        new InvocationRejected(
          GrpcStatus.INVALID_ARGUMENT,
          `The event of ${payload.length} bytes is over the invocation frame limit of ${this.#maxFrameBytes} bytes`,
          true,
        ),
      );
    const header: InvokeFrame = {
      id,
      namespace: request.namespace,
      sandbox: request.sandbox,
      requestId: request.requestId,
      timeoutMs: request.timeoutMs,
      ...(request.tailLogs ? { tailLogs: true } : {}),
      ...(format === 'json' ? {} : { format }),
    };
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      this.#pending.set(id, { resolve, reject, deadline, timeoutMs, connection });
      this.#arm(deadline);
      connection.writer.write(header, payload, connection.binary ? INVOKE_HEADER : undefined);
    });
  }

  /** Makes sure the timer fires by `deadline`. */
  #arm(deadline: number): void {
    if (deadline >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(this.#expire, Math.max(0, deadline - performance.now()));
    this.#timer.unref();
  }

  /** Fails the invocations past their deadline, and sets the timer for the next one. */
  #expire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, pending] of this.#pending) {
      if (pending.deadline <= now) {
        this.#pending.delete(id);
        pending.reject(new ChannelTimeout(this.address, pending.timeoutMs));
      } else if (pending.deadline < next) next = pending.deadline;
    }
    if (next < Infinity) this.#arm(next);
  };

  get pending(): number {
    return this.#pending.size;
  }

  close(): void {
    this.#connection?.socket.end();
    this.#connection = undefined;
  }

  #open(): Connection {
    if (this.#connection) return this.#connection;
    const socket =
      'path' in this.#connectTo
        ? connect({ path: this.#connectTo.path })
        : connect({ ...this.#connectTo, noDelay: true });
    const writer = new FrameWriter(socket);
    const connection: Connection = {
      socket,
      writer,
      connected: false,
      refused: undefined,
      binary: false,
    };
    this.#connection = connection;
    // One timer per connection, not per invocation. Destroying the socket
    // fails what waits on it as never delivered (broken, below) and frees the
    // channel: the next invocation opens a new connection. Unref'd: a pending
    // invocation does not hold the process open either (see #timer).
    const connectTimer = setTimeout(
      () => socket.destroy(new ConnectTimeout(this.address, this.#connectTimeoutMs)),
      this.#connectTimeoutMs,
    );
    connectTimer.unref();
    socket.once('connect', () => {
      connection.connected = true;
      clearTimeout(connectTimer);
    });
    // Written before the connection is up: they leave in one packet once it is.
    if (this.#preface) socket.write(INVOKE_PREFACE);
    const token = typeof this.#token === 'function' ? this.#token() : this.#token;
    const hello: HelloFrame = {
      type: 'hello',
      token,
      ...(this.#offerBinaryHeaders ? { binaryHeaders: true } : {}),
    };
    writer.write(hello);
    const reader = new FrameReader({
      maxFrameBytes: this.#maxFrameBytes,
      codecs: [RESULT_HEADER],
      onFrame: (header: ResultFrame | RefusedFrame | WelcomeFrame, body: Buffer) => {
        if (!('type' in header)) this.#answer(header, body);
        else if (header.type === 'welcome')
          connection.binary = this.#offerBinaryHeaders && header.binaryHeaders === true;
        else connection.refused = header;
      },
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const broken = (err?: Error) => {
      if (this.#connection === connection) this.#connection = undefined;
      const refused = connection.refused;
      // Nothing was delivered if the connection never came up, or if the
      // sidecar refused it for the token, before it read any invocation.
      const notInvoked = !connection.connected || refused?.code === GrpcStatus.UNAUTHENTICATED;
      const cause =
        err ??
        new Error(refused ? `refused: ${refused.message}` : 'the sidecar closed the connection');
      for (const [id, pending] of this.#pending) {
        if (pending.connection !== connection) continue;
        pending.reject(new ChannelBroken(this.address, cause, notInvoked));
        this.#pending.delete(id);
      }
    };
    socket.on('error', broken);
    socket.on('close', () => {
      clearTimeout(connectTimer);
      broken();
    });
    return connection;
  }

  #answer(header: ResultFrame, result: Buffer): void {
    const pending = this.#pending.get(header.id);
    if (!pending) return;
    this.#pending.delete(header.id);
    const rejection = header.rejection;
    if (rejection) {
      pending.reject(
        new InvocationRejected(
          rejection.code,
          rejection.message,
          rejection.notInvoked,
          rejection.errorCode,
        ),
      );
      return;
    }
    pending.resolve({
      result,
      error: header.error,
      errorType: header.errorType,
      errorMessage: header.errorMessage,
      stackTrace: header.stackTrace,
      durationMs: header.durationMs,
      memoryBytes: header.memoryBytes,
      coldStart: header.coldStart,
      cpuMicros: header.cpuMicros,
      logTail: header.logTail,
      streamId: header.id,
      rejection: null,
    });
  }
}
