// What the JVM bridge's end-to-end tests share: the built jars (with a clear
// failure when they are missing), a bridge started for a test file, a recorder
// of its events, and JSON helpers for invocations.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  JavaBridge,
  defaultBridgeJar,
  type BridgeEvent,
  type InvokeResponse,
  type JavaBridgeClient,
  type JavaBridgeOptions,
  type LogEntry,
  type SandboxFailure,
} from '../../sidecar/java/bridge-process.ts';
import { eventually } from './cluster.ts';

const FIXTURES = fileURLToPath(new URL('../../runtime-java-bridge/fixtures', import.meta.url));
const BUILD_HINT =
  'run `npm run build:java` first (it builds the bridge and its fixture functions with Maven)';

/** The built fixture function `name` (runtime-java-bridge/fixtures/<name>). */
export function fixtureJar(name: string): string {
  const jar = join(FIXTURES, name, 'target', `${name}.jar`);
  if (!existsSync(jar)) throw new Error(`The fixture jar ${jar} is missing: ${BUILD_HINT}`);
  return jar;
}

/** Throws, failing the test file, if the bridge or the fixtures are not built. */
export function requireBuiltJava(): void {
  if (!existsSync(defaultBridgeJar()))
    throw new Error(`The Java bridge jar ${defaultBridgeJar()} is missing: ${BUILD_HINT}`);
  for (const name of ['hello', 'isolation-a', 'isolation-b', 'abuse', 'unloadable', 'tiny', 'web'])
    fixtureJar(name);
}

/** A bridge for one test file; its own output is kept to explain failures. */
export async function startTestBridge(options: JavaBridgeOptions = {}): Promise<JavaBridge> {
  requireBuiltJava();
  const lines: string[] = [];
  return JavaBridge.start({
    onLine: (line) => {
      lines.push(line);
      if (process.env.ROOST_LOG_LEVEL === 'debug') console.error(`[bridge] ${line}`);
    },
    ...options,
  });
}

/** Every event of one Events stream, with a way to wait for one. */
export class EventRecorder {
  readonly events: BridgeEvent[] = [];
  readonly #stream: ReturnType<JavaBridgeClient['events']>;

  constructor(client: JavaBridgeClient) {
    this.#stream = client.events();
    this.#stream.on('data', (event: BridgeEvent) => this.events.push(event));
    // Cancelling at the end, or the bridge stopping, ends the stream with an error: expected.
    this.#stream.on('error', () => {});
  }

  logs(sandboxId?: string): LogEntry[] {
    return this.events
      .flatMap((e) => (e.event === 'log' ? [e.log] : []))
      .filter((log) => sandboxId === undefined || `${log.namespace}/${log.sandbox}` === sandboxId);
  }

  failures(sandboxId?: string): SandboxFailure[] {
    return this.events
      .flatMap((e) => (e.event === 'failure' ? [e.failure] : []))
      .filter((failure) => sandboxId === undefined || failure.sandboxId === sandboxId);
  }

  waitForLog(
    sandboxId: string,
    predicate: (log: LogEntry) => boolean,
    what: string,
  ): Promise<LogEntry> {
    return eventually(() => this.logs(sandboxId).find(predicate), { what, timeoutMs: 10_000 });
  }

  waitForFailure(sandboxId: string, timeoutMs = 15_000): Promise<SandboxFailure> {
    return eventually(() => this.failures(sandboxId)[0], {
      what: `a SandboxFailure of ${sandboxId}`,
      timeoutMs,
    });
  }

  close(): void {
    this.#stream.cancel();
  }
}

export function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

/** The result of a successful invocation, parsed; throws with the error if it failed. */
export function resultOf<T = unknown>(response: InvokeResponse): T {
  if (response.error !== 'FUNCTION_ERROR_NONE')
    throw new Error(
      `invocation failed: ${response.error} ${response.errorType}: ${response.errorMessage}`,
    );
  return JSON.parse(response.result.toString('utf8')) as T;
}

let requests = 0;

/** Invokes with a JSON payload and a fresh request id. */
export function invokeJson(
  client: JavaBridgeClient,
  sandboxId: string,
  payload: unknown,
  options: { requestId?: string; timeoutMs?: number } = {},
): Promise<InvokeResponse> {
  return client.invoke({
    sandboxId,
    requestId: options.requestId ?? `req-${process.pid}-${++requests}`,
    payload: json(payload),
    timeoutMs: options.timeoutMs,
  });
}

/** Runs a full GC in the bridge's JVM with the JDK's own jcmd, as an operator would. */
export function fullGc(pid: number): Promise<void> {
  const jcmd = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'jcmd') : 'jcmd';
  return new Promise((resolve, reject) =>
    execFile(jcmd, [String(pid), 'GC.run'], { timeout: 30_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`jcmd ${pid} GC.run failed: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
