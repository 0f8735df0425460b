// The JVM bridge of a host pod as a child process: start it, wait for its
// ready line, hand out a typed client with the secret attached, restart it if
// it dies (telling the caller, who must reload its Sandboxes), and stop it.
// The bridge also dies with this process: it exits when its stdin pipe closes
// or this pid disappears, so not even a SIGKILL here leaves a JVM behind.
//
//   const bridge = await JavaBridge.start({ onRestart: ({ restarts }) => reloadAll(restarts) });
//   await bridge.client.load({ sandboxId: 'ns/hello', jarPath, handler: 'com.example.Hello' });
//   await bridge.stop();
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor } from '../../lib/supervisor.ts';
import { RoostError, errorMessage } from '../../lib/errors.ts';
import { startProcess, type Exit, type ManagedProcess, processExists } from '../../lib/process.ts';
import { JavaBridgeClient } from './bridge-client.ts';

export { JavaBridgeClient, JavaBridgeCallError } from './bridge-client.ts';
export type * from './bridge-client.ts';
export type { Exit } from '../../lib/process.ts';

const READY_LINE = /^roost-java-bridge ready (\S+) (-?\d+)$/;
/** A bridge that ran this long before dying is restarted at once, not after a growing wait. */
const HEALTHY_RUN_MS = 30_000;
const TAIL_LINES = 20;

export interface JavaBridgeOptions {
  /** The runnable jar. Default: env ROOST_JAVA_BRIDGE_JAR, else the build output in this checkout. */
  jarPath?: string;
  /** The java launcher. Default: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` on PATH. */
  javaCommand?: string;
  /** The Unix socket to serve on. Default: bridge.sock in a new private temporary directory. */
  socketPath?: string;
  /** -Xmx in MiB. Default: the JVM's own choice (a quarter of the memory it sees). */
  maxHeapMiB?: number;
  /** Invocations that may wait per Sandbox beyond its concurrency before RESOURCE_EXHAUSTED. Default 64. */
  maxQueuedPerSandbox?: number;
  /** Use the AppCDS archive built beside the jar (roost-java-bridge.jsa) when present. Default true. */
  classDataSharing?: boolean;
  /** Run Load and Invoke once inside the bridge: before its ready line (default), after it, or not at all. */
  warmup?: 'before' | 'after' | 'off';
  /** More JVM options, placed before -jar. */
  jvmArgs?: string[];
  /** How long the bridge may take to print its ready line. Default 30 s. */
  startTimeoutMs?: number;
  /** Restart the bridge when it dies. Default true. */
  restart?: boolean;
  /** The bridge died on its own (not stopped); a restart follows unless `restart` is false. */
  onExit?: (exit: Exit) => void;
  /** After a restarted bridge is ready. Its Sandboxes are gone: reload them and count the restart. */
  onRestart?: (event: RestartEvent) => void | Promise<void>;
  /** Each line of the bridge's own output (its diagnostics; function output arrives as Events). */
  onLine?: (line: string) => void;
}

export interface RestartEvent {
  /** Restarts since start, this one included. */
  restarts: number;
  /** How the previous bridge ended. */
  exit: Exit;
  /** Start-up of the new bridge, spawn to serving, as it measured it. */
  startupMs: number;
}

/** The bridge did not come up: it exited, timed out, or java could not be run. */
export class JavaBridgeStartError extends RoostError {
  constructor(message: string, options?: ErrorOptions) {
    super('ROOST_JAVA_BRIDGE_START', message, options);
  }
}

/** The bridge jar is not built. */
export class JavaBridgeJarMissingError extends RoostError {
  readonly jarPath: string;
  constructor(jarPath: string) {
    super(
      'ROOST_JAVA_BRIDGE_JAR_MISSING',
      `Cannot start the Java bridge: ${jarPath} does not exist. Build it with \`npm run build:java\` (or point ROOST_JAVA_BRIDGE_JAR at a built jar).`,
    );
    this.jarPath = jarPath;
  }
}

/** ROOST_JAVA_BRIDGE_JAR, else where `npm run build:java` puts the jar in this checkout. */
export function defaultBridgeJar(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.ROOST_JAVA_BRIDGE_JAR ??
    fileURLToPath(
      new URL('../../runtime-java-bridge/bridge/target/roost-java-bridge.jar', import.meta.url),
    )
  );
}

interface Launch {
  command: string;
  args: string[];
  startTimeoutMs: number;
  onLine: (line: string) => void;
}

export class JavaBridge {
  /** One client for the bridge's whole life; calls made while it restarts fail UNAVAILABLE. */
  readonly client: JavaBridgeClient;
  readonly socketPath: string;
  readonly #launch: Launch;
  readonly #options: JavaBridgeOptions;
  readonly #ownDir: string | undefined;
  readonly #secret: string;
  readonly #stopping = new AbortController();
  readonly #supervisor: Supervisor<Spawned> | undefined;
  #process: ManagedProcess;
  #startupMs: number;

  private constructor(
    options: JavaBridgeOptions,
    launch: Launch,
    socketPath: string,
    ownDir: string | undefined,
    secret: string,
    first: Spawned,
  ) {
    this.#options = options;
    this.#launch = launch;
    this.socketPath = socketPath;
    this.#ownDir = ownDir;
    this.#secret = secret;
    this.#process = first.process;
    this.#startupMs = first.startupMs;
    this.client = new JavaBridgeClient(first.target, secret);
    this.#supervisor = this.#supervise(first);
  }

  /**
   * Starts the bridge and resolves once it serves.
   *
   * @throws JavaBridgeJarMissingError if the jar is not built
   * @throws JavaBridgeStartError if it exits or stays silent before its ready line
   */
  static async start(options: JavaBridgeOptions = {}): Promise<JavaBridge> {
    const jarPath = options.jarPath ?? defaultBridgeJar();
    if (!existsSync(jarPath)) throw new JavaBridgeJarMissingError(jarPath);
    removeStaleBridgeDirs();
    const ownDir = options.socketPath ? undefined : makeBridgeDir();
    const socketPath = options.socketPath ?? join(ownDir!, 'bridge.sock');
    const secret = randomBytes(32).toString('hex');
    const launch: Launch = {
      command: options.javaCommand ?? javaCommand(),
      args: bridgeArgs(options, jarPath, socketPath),
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      onLine: options.onLine ?? (() => {}),
    };
    let bridge: JavaBridge | undefined;
    try {
      const first = await spawnBridge(launch, secret);
      bridge = new JavaBridge(options, launch, socketPath, ownDir, secret, first);
      await bridge.#connect();
      return bridge;
    } catch (err) {
      if (bridge) await bridge.stop();
      else if (ownDir) rmSync(ownDir, { recursive: true, force: true });
      throw err;
    }
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Restarts since start. */
  get restarts(): number {
    return this.#supervisor?.restarts ?? 0;
  }

  /** Start-up of the running bridge, spawn to serving, as it measured it. */
  get startupMs(): number {
    return this.#startupMs;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; no restart after this. */
  async stop(graceMs = 5_000): Promise<void> {
    this.#stopping.abort();
    // A bridge being spawned for a restart is #process already: stop it now, not once it is ready.
    await this.#process.stop(graceMs);
    await this.#supervisor?.stop((spawned) => spawned.process.stop(graceMs));
    this.client.close();
    if (this.#ownDir) rmSync(this.#ownDir, { recursive: true, force: true });
  }

  /**
   * Connects the client and makes one Health call: it proves the secret and,
   * since a fresh JVM spends ~100 ms initialising its first connection, pays
   * that here rather than in the first Sandbox's Load.
   */
  async #connect(): Promise<void> {
    try {
      await this.client.health({ deadlineMs: this.#launch.startTimeoutMs });
    } catch (err) {
      throw new JavaBridgeStartError(
        `Cannot start the Java bridge: its first Health call failed: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Restarts the bridge when it dies (lib/supervisor.ts), unless told not to. */
  #supervise(first: Spawned): Supervisor<Spawned> | undefined {
    if (this.#options.restart === false) {
      void first.exited.then((exit) => {
        if (!this.#stopping.signal.aborted) this.#options.onExit?.(exit);
      });
      return undefined;
    }
    return Supervisor.watch(first, {
      name: 'java bridge',
      initialBackoffMs: 100,
      maxBackoffMs: 10_000,
      healthyRunMs: HEALTHY_RUN_MS,
      start: () =>
        spawnBridge(this.#launch, this.#secret, (child) => {
          this.#process = child;
        }),
      onExit: ({ exit }) => {
        this.#options.onExit?.(exit);
        this.#launch.onLine(
          `java bridge exited (code ${exit.code}, signal ${exit.signal}); restarting`,
        );
      },
      onStartFailed: ({ error }) =>
        this.#launch.onLine(`java bridge restart failed: ${errorMessage(error)}`),
      onRestarted: async (next, { restarts, exit }) => {
        this.#startupMs = next.startupMs;
        await this.#connect().catch((err: unknown) => this.#launch.onLine(errorMessage(err)));
        await this.#options.onRestart?.({ restarts, exit, startupMs: next.startupMs });
      },
    });
  }
}

/** A running bridge, as the supervisor keeps it. */
interface Spawned {
  process: ManagedProcess;
  startupMs: number;
  target: string;
  exited: Promise<Exit>;
}

/**
 * The bridge's private socket directory, with the pid of the process it
 * belongs to, so that one left behind by a sidecar killed outright (which
 * cannot remove it) is recognised and removed by the next.
 */
const BRIDGE_DIR_PREFIX = 'roost-jb-';

function makeBridgeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), BRIDGE_DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  return dir;
}

/** Removes the bridge directories of processes that no longer exist. */
export function removeStaleBridgeDirs(root = tmpdir()): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root).filter((entry) => entry.startsWith(BRIDGE_DIR_PREFIX));
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const dir = join(root, entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // Not ours to judge (no owner recorded), or another user's.
    }
    if (!Number.isInteger(owner) || owner <= 0 || processExists(owner)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Another user's directory: leave it.
    }
  }
  return removed;
}

function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function bridgeArgs(options: JavaBridgeOptions, jarPath: string, socketPath: string): string[] {
  const jvm: string[] = [];
  const archive = join(dirname(jarPath), 'roost-java-bridge.jsa');
  // The archive only fits the jar it was recorded with; the JVM checks and falls back without it.
  if (options.classDataSharing !== false && existsSync(archive))
    jvm.push(`-XX:SharedArchiveFile=${archive}`);
  if (options.maxHeapMiB !== undefined) jvm.push(`-Xmx${options.maxHeapMiB}m`);
  jvm.push(...(options.jvmArgs ?? []));
  const bridge = [
    '--socket',
    socketPath,
    '--exit-on-stdin-close',
    '--parent-pid',
    String(process.pid),
  ];
  bridge.push('--warmup', options.warmup ?? 'before');
  if (options.maxQueuedPerSandbox !== undefined)
    bridge.push('--max-queued', String(options.maxQueuedPerSandbox));
  return [...jvm, '-jar', jarPath, ...bridge];
}

/** Spawns one bridge process and waits for its ready line; kills it if that does not come. */
async function spawnBridge(
  launch: Launch,
  secret: string,
  onSpawn: (child: ManagedProcess) => void = () => {},
): Promise<Spawned> {
  const tail: string[] = [];
  let onReady: (ready: { target: string; startupMs: number }) => void = () => {};
  const ready = new Promise<{ target: string; startupMs: number }>(
    (resolve) => (onReady = resolve),
  );
  const child = startProcess({
    name: 'java bridge',
    command: launch.command,
    // Passed at spawn so the bridge can report its start-up including the JVM's own.
    args: [`-Droost.bridge.spawnedAtMs=${Date.now()}`, ...launch.args],
    env: { ...process.env, ROOST_BRIDGE_SECRET: secret },
    stdinPipe: true,
    onLine: (line) => {
      const match = READY_LINE.exec(line);
      if (match) {
        onReady({ target: match[1]!, startupMs: Number(match[2]) });
        return;
      }
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      launch.onLine(line);
    },
  });
  onSpawn(child);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), launch.startTimeoutMs);
  });
  try {
    const first = await Promise.race([ready, child.exited, timedOut]);
    if (first === 'timeout') {
      await child.stop(1_000);
      throw new JavaBridgeStartError(
        `Cannot start the Java bridge: no ready line after ${launch.startTimeoutMs} ms${lastLines(tail)}`,
      );
    }
    if ('code' in first) {
      throw new JavaBridgeStartError(
        `Cannot start the Java bridge (${launch.command}): it exited with code ${first.code}, signal ${first.signal} before it was ready${lastLines(tail)}`,
      );
    }
    return { process: child, ...first, exited: child.exited };
  } finally {
    clearTimeout(timer);
  }
}

function lastLines(tail: string[]): string {
  return tail.length ? `; its last output:\n${tail.join('\n')}` : '';
}
