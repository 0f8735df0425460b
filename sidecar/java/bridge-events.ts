// The bridge's Events stream, kept open for as long as the bridge runs: every
// function's output and every SandboxFailure arrive on it. A stream that breaks
// while the bridge lives is opened again after a short back-off (a lost stream
// would silently drop the logs and failures of every Java Sandbox); while the
// bridge is down it stays closed until its owner opens it on the new bridge.
// Nothing is lost in between: the bridge keeps its latest 2,000 events for
// the next stream.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { Backoff } from '../../lib/backoff.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { BridgeEvent, JavaBridgeClient } from './bridge-client.ts';

export interface BridgeEventStreamOptions {
  client: JavaBridgeClient;
  onEvent: (event: BridgeEvent) => void;
  log: Logger;
}

export class BridgeEventStream {
  readonly #options: BridgeEventStreamOptions;
  readonly #backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  #stream: ClientReadableStream<BridgeEvent> | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** The bridge is down: do not reopen until open() is called again. */
  #paused = false;
  #closed = false;

  constructor(options: BridgeEventStreamOptions) {
    this.#options = options;
  }

  /** Opens a new stream now, replacing the current one. */
  open(): void {
    this.#paused = false;
    this.#backoff.reset();
    this.#connect();
  }

  /** The bridge died: drop the stream and wait for open(). */
  pause(): void {
    this.#paused = true;
    this.#drop();
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #connect(): void {
    if (this.#closed || this.#paused) return;
    this.#drop();
    const stream = this.#options.client.events();
    this.#stream = stream;
    stream.on('data', (event: BridgeEvent) => this.#options.onEvent(event));
    const broken = (why: string) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      if (this.#closed || this.#paused) return;
      const delay = this.#backoff.next();
      this.#options.log.warn(
        { why, reopenInMs: Math.round(delay) },
        'the java bridge Events stream broke; reopening it',
      );
      this.#retry = setTimeout(() => this.#connect(), delay);
    };
    stream.on('error', (err: unknown) => broken(errorMessage(err)));
    stream.on('end', () => broken('the bridge ended it'));
  }

  #drop(): void {
    clearTimeout(this.#retry);
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
  }
}
