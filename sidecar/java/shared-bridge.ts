// The one JVM bridge of a host pod, shared by all its Java Sandboxes. It is
// started with the sidecar, not at the first Java plug: a JVM takes a few
// hundred milliseconds to start, which would otherwise land on the first Java
// Sandbox's plug. It routes the bridge's Events to the Sandbox each one is
// about, and tells every Sandbox when the bridge dies and when its restarted
// replacement serves (the new JVM has no functions: each Sandbox loads itself
// again and counts the restart).
//
//   const bridge = await SharedBridge.start({ log });
//   const unregister = bridge.register('ns/hello', javaFunction);
//   await bridge.client.load({ sandboxId: 'ns/hello', ... });
import type { Logger } from '../../lib/log.ts';
import type { LogEntry, SandboxFailure } from './bridge-client.ts';
import {
  JavaBridge,
  type Exit,
  type JavaBridgeClient,
  type JavaBridgeOptions,
  type RestartEvent,
} from './bridge-process.ts';
import { BridgeContainer } from './bridge-container.ts';
import { BridgeEventStream } from './bridge-events.ts';

/** What a Java Sandbox hears from the bridge it lives in. */
export interface BridgeListener {
  /** A line the function wrote (System.out, System.err, its LambdaLogger). */
  onLog(entry: LogEntry): void;
  /** The bridge failed and unloaded the function (OOMKilled, Stuck). */
  onFailure(failure: SandboxFailure): void;
  /** The bridge died with every function in it; a restart follows. */
  onBridgeExit(exit: Exit): void;
  /** A new bridge serves, without any function loaded. */
  onBridgeRestart(event: RestartEvent): void;
}

export interface SharedBridgeOptions {
  log: Logger;
  /** How to start the JVM (jar, java, heap); the hooks are the shared bridge's own. */
  bridge?: Omit<JavaBridgeOptions, 'onExit' | 'onRestart' | 'onLine'>;
  /**
   * Dial a bridge run as a container of its own instead of starting one: its
   * socket and the file where it publishes its secret, in a volume shared
   * with it. The kubelet restarts it; this side notices and reloads.
   */
  container?: { socketPath: string; secretFile: string };
}

export class SharedBridge {
  readonly #log: Logger;
  readonly #listeners = new Map<string, BridgeListener>();
  #bridge!: JavaBridge | BridgeContainer;
  #events: BridgeEventStream | undefined;
  #up = true;
  #waiters: (() => void)[] = [];

  private constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Starts the JVM and opens its Events stream; resolves once it serves.
   *
   * @throws JavaBridgeJarMissingError if the bridge jar is not built
   * @throws JavaBridgeStartError if the JVM does not come up
   */
  static async start(options: SharedBridgeOptions): Promise<SharedBridge> {
    const shared = new SharedBridge(options.log);
    const started = performance.now();
    const hooks = {
      onLine: (line: string) => shared.#log.info({ line }, 'java bridge'),
      onExit: (exit: Exit) => shared.#onExit(exit),
      onRestart: (event: RestartEvent) => shared.#onRestart(event),
    };
    shared.#bridge = options.container
      ? await BridgeContainer.connect({ ...options.container, ...hooks })
      : await JavaBridge.start({ ...options.bridge, ...hooks });
    shared.#events = new BridgeEventStream({
      client: shared.#bridge.client,
      onEvent: (event) => {
        if (event.event === 'log')
          shared.#listeners.get(`${event.log.namespace}/${event.log.sandbox}`)?.onLog(event.log);
        else shared.#listeners.get(event.failure.sandboxId)?.onFailure(event.failure);
      },
      log: shared.#log,
    });
    shared.#events.open();
    shared.#log.info(
      {
        pid: shared.#bridge.pid,
        startupMs: shared.#bridge.startupMs,
        tookMs: Math.round(performance.now() - started),
      },
      'java bridge serving',
    );
    return shared;
  }

  get client(): JavaBridgeClient {
    return this.#bridge.client;
  }

  /** The JVM's pid, while it runs. */
  get pid(): number | undefined {
    return this.#bridge.pid;
  }

  /** False from the moment the bridge dies until its replacement serves. */
  get up(): boolean {
    return this.#up;
  }

  /** Resolves true once the bridge serves (at once if it does), false after `timeoutMs`. */
  whenUp(timeoutMs: number): Promise<boolean> {
    if (this.#up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Sends the bridge's news about `sandboxId` ("namespace/name") to `listener` until the returned function is called. */
  register(sandboxId: string, listener: BridgeListener): () => void {
    this.#listeners.set(sandboxId, listener);
    return () => {
      if (this.#listeners.get(sandboxId) === listener) this.#listeners.delete(sandboxId);
    };
  }

  /** Stops the JVM (after the Sandboxes have been unloaded); no restart follows. */
  async stop(): Promise<void> {
    this.#events?.close();
    await this.#bridge.stop();
  }

  #onExit(exit: Exit): void {
    this.#up = false;
    this.#events?.pause();
    this.#log.warn(
      { exit, sandboxes: this.#listeners.size },
      'the java bridge exited; its Sandboxes wait for its restart',
    );
    for (const listener of this.#listeners.values()) listener.onBridgeExit(exit);
  }

  #onRestart(event: RestartEvent): void {
    this.#up = true;
    this.#events?.open();
    this.#log.warn(
      { restarts: event.restarts, startupMs: event.startupMs, sandboxes: this.#listeners.size },
      'the java bridge was restarted; loading its Sandboxes again',
    );
    for (const listener of this.#listeners.values()) listener.onBridgeRestart(event);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
