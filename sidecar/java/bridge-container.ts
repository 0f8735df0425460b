// The JVM bridge of a host pod run as a container of its own, beside the
// sidecar's (the chart's Java pools): the kubelet starts and restarts it, and
// the sidecar only dials it over a Unix socket in a volume they share. The
// bridge makes a fresh secret at each start and publishes it in a file of
// that volume once it serves (mode 0640, for the pod's shared group: function
// processes run under users of their own, outside it). So a new secret means
// a new JVM, without a single function loaded, and the Sandboxes load again.
//
//   const bridge = await BridgeContainer.connect({ socketPath, secretFile, onExit, onRestart });
//   await bridge.client.load(...);
import { readFileSync } from 'node:fs';
import { sleep } from '../../lib/duration.ts';
import { RoostError, errorMessage } from '../../lib/errors.ts';
import type { Exit } from '../../lib/process.ts';
import { JavaBridgeClient } from './bridge-client.ts';
import type { RestartEvent } from './bridge-process.ts';

/** How often a serving bridge is asked for its health: the time a dead one goes unnoticed, at most. */
const HEALTH_EVERY_MS = 1_000;
/** A health call this slow counts as a failure; two in a row and the bridge is taken for dead. */
const HEALTH_DEADLINE_MS = 3_000;
const FAILURES_FOR_DEAD = 2;
/** While the bridge is away: how often to look for its secret and dial it. */
const REDIAL_EVERY_MS = 200;

export interface BridgeContainerOptions {
  /** The Unix socket the bridge container serves on (its --socket). */
  socketPath: string;
  /** Where the bridge container publishes its secret (its --secret-file). */
  secretFile: string;
  /** How long to wait for the container's first secret and Health answer. Default 120 s: it may be pulling its image. */
  startTimeoutMs?: number;
  /** The bridge stopped answering (its container died or restarts). */
  onExit?: (exit: Exit) => void;
  /** A bridge serves again; a new secret means a new JVM with nothing loaded. */
  onRestart?: (event: RestartEvent) => void | Promise<void>;
  onLine?: (line: string) => void;
}

/** The bridge container did not serve within the start timeout. */
export class BridgeContainerUnreachableError extends RoostError {
  constructor(message: string, options?: ErrorOptions) {
    super('ROOST_JAVA_BRIDGE_UNREACHABLE', message, options);
  }
}

export class BridgeContainer {
  readonly client: JavaBridgeClient;
  readonly socketPath: string;
  /** The JVM runs in another container: no pid of it is visible from here. */
  readonly pid = undefined;
  readonly #options: BridgeContainerOptions;
  readonly #stopping = new AbortController();
  #secret: string;
  #startupMs: number;
  #restarts = 0;

  private constructor(options: BridgeContainerOptions, secret: string, startupMs: number) {
    this.#options = options;
    this.socketPath = options.socketPath;
    this.#secret = secret;
    this.#startupMs = startupMs;
    this.client = new JavaBridgeClient(`unix:${options.socketPath}`, () => this.#secret);
  }

  /**
   * Waits for the bridge container's secret and a Health answer with it.
   *
   * @throws BridgeContainerUnreachableError if it does not serve within the start timeout
   */
  static async connect(options: BridgeContainerOptions): Promise<BridgeContainer> {
    const started = performance.now();
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    const bridge = new BridgeContainer(options, '', 0);
    const secret = await bridge.#dial(AbortSignal.timeout(timeoutMs));
    if (secret === undefined) {
      bridge.client.close();
      throw new BridgeContainerUnreachableError(
        `Cannot reach the Java bridge container: no Health answer on ${options.socketPath} with the secret in ${options.secretFile} within ${timeoutMs} ms; check the pod's "bridge" container (kubectl logs <pod> -c bridge)`,
      );
    }
    bridge.#startupMs = Math.round(performance.now() - started);
    void bridge.#watch();
    return bridge;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** From the sidecar's first look to the bridge's first answer. */
  get startupMs(): number {
    return this.#startupMs;
  }

  /** Stops watching and closes the channel; the container itself is the kubelet's to stop. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.client.close();
  }

  /** Health every second; two failures and the bridge is gone until a bridge answers again. */
  async #watch(): Promise<void> {
    const signal = this.#stopping.signal;
    let failures = 0;
    while (!signal.aborted) {
      await sleep(HEALTH_EVERY_MS, signal);
      if (signal.aborted) return;
      const fileSecret = readSecret(this.#options.secretFile);
      // A new secret on disk: the container restarted between two looks.
      const replaced = fileSecret !== undefined && fileSecret !== this.#secret;
      if (!replaced) {
        try {
          await this.client.health({ deadlineMs: HEALTH_DEADLINE_MS });
          failures = 0;
          continue;
        } catch (err) {
          if (++failures < FAILURES_FOR_DEAD) continue;
          this.#options.onLine?.(`java bridge container stopped answering: ${errorMessage(err)}`);
        }
      }
      failures = 0;
      const down = performance.now();
      this.#options.onExit?.({ code: null, signal: null });
      const previous = this.#secret;
      const secret = await this.#dial(signal);
      if (secret === undefined) return;
      this.#startupMs = Math.round(performance.now() - down);
      this.#restarts++;
      this.#options.onLine?.(
        `java bridge container serves again after ${this.#startupMs} ms${secret === previous ? ' (same JVM)' : ''}`,
      );
      await this.#options.onRestart?.({
        restarts: this.#restarts,
        exit: { code: null, signal: null },
        startupMs: this.#startupMs,
      });
    }
  }

  /** Reads the published secret and dials with it until a Health call answers; undefined once aborted. */
  async #dial(signal: AbortSignal): Promise<string | undefined> {
    while (!signal.aborted) {
      const secret = readSecret(this.#options.secretFile);
      if (secret !== undefined) {
        this.#secret = secret;
        try {
          await this.client.health({ deadlineMs: HEALTH_DEADLINE_MS });
          return secret;
        } catch {
          // Not serving yet, or a previous bridge's secret: look again.
        }
      }
      await sleep(REDIAL_EVERY_MS, signal);
    }
    return undefined;
  }
}

function readSecret(file: string): string | undefined {
  try {
    const secret = readFileSync(file, 'utf8').trim();
    return secret === '' ? undefined : secret;
  } catch {
    return undefined;
  }
}
