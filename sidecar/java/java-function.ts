// A Java function in the host pod's shared JVM bridge, as a FunctionRuntime:
// plugging it is a Load (a new class loader, the handler made and called once),
// invoking it an Invoke, stopping it an Unload. It keeps the same promises as a
// Node function's process:
//
// - A function whose run ended badly is loaded afresh, in a new class loader,
//   and the restart is counted in status with the reason: the bridge failed it
//   (OOMKilled, Stuck: the bridge has unloaded it), it called System.exit (the
//   bridge fails that call instead of exiting; a new loader gives the next call
//   the fresh state a new process would), or an invocation timed out (its thread
//   was interrupted and perhaps hard-stopped, which can leave the function's
//   objects half-changed; AWS Lambda resets the environment after a timeout
//   too). Crashes in a row back off as CrashLoopBackOff; timeouts reload at
//   once, so a slow dependency does not make the function unavailable.
// - When the bridge JVM dies, every Java Sandbox of the pod waits for its
//   restart, loads itself into the new JVM, and counts a restart with reason
//   BridgeRestarted.
//
// Hibernation does not apply: a loaded Java function costs tens of KB of heap
// and Metaspace and holds no thread while idle (its executor's threads end
// after 30 s), so there is nothing worth stopping; hibernate() is not offered
// and the sidecar never hibernates a Java Sandbox.
import { bridgeLoads, bridgeUnloads, functionRestarts } from '../metrics.ts';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Termination } from '../../kube/api/roost.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { LogLevelName } from '../../runtime-node/protocol.ts';
import { CrashLoopBackoff } from '../crash-loop-backoff.ts';
import { invalidPayload, runtimeUnavailable, sandboxNotReady } from '../errors.ts';
import { bufferView } from '../../lib/bytes.ts';
import {
  decodeHttpRequest,
  functionUrlEventJson,
  type HttpRequestInfo,
} from '../../runtime-node/function-url-event.js';
import type {
  FunctionRuntime,
  InvokeInput,
  InvokeOutcome,
  RuntimeHooks,
  RuntimeState,
} from '../function-runtime.ts';
import type { LogLine } from '../log-store.ts';
import {
  JavaBridgeCallError,
  type InvokeResponse,
  type LogEntry,
  type LogLevel,
  type SandboxFailure,
} from './bridge-client.ts';
import type { Exit, RestartEvent } from './bridge-process.ts';
import {
  bridgeLost,
  outcomeOf,
  refusalOf,
  spoiltBy,
  timedOut,
  type Ended,
} from './invoke-outcome.ts';
import { isFunctionError, loadMessage, plugErrorOf } from './load-errors.ts';
import type { BridgeListener, SharedBridge } from './shared-bridge.ts';

export interface JavaFunctionOptions {
  /** namespace/name of the Sandbox: also its id in the bridge. */
  key: string;
  bridge: SharedBridge;
  /** The function's jar on local disk (<code dir>/function.jar). */
  jarPath: string;
  /** com.example.Hello::handleRequest, or com.example.Hello. */
  handler: string;
  functionName: string;
  functionVersion: string;
  memoryMiB: number;
  timeoutMs: number;
  concurrency: number;
  /** What System.getenv shows the function. */
  env: Record<string, string>;
  hooks: RuntimeHooks;
  log: Logger;
  /** How long stop() lets invocations still in the bridge finish before they are failed (default 1 s). */
  stopGraceMs?: number;
  /** Longest wait between restarts after crashes in a row (default 60 s). */
  maxBackoffMs?: number;
}

/** How long an invocation may run past its timeout before the sidecar stops waiting for the bridge's answer. */
const ANSWER_SLACK_MS = 5_000;
/** How long a plug waits for a bridge that is restarting. */
const BRIDGE_WAIT_MS = 30_000;
/** How long a reload after a timeout lets the function's other invocations finish. */
const RELOAD_GRACE_MS = 10_000;
/** After the bridge says it has no such function, how long to wait for the SandboxFailure that explains why. */
const LOST_FUNCTION_CHECK_MS = 2_000;

const LEVELS: Record<LogLevel, LogLevelName> = {
  LOG_LEVEL_UNSPECIFIED: 'info',
  LOG_LEVEL_TRACE: 'trace',
  LOG_LEVEL_DEBUG: 'debug',
  LOG_LEVEL_INFO: 'info',
  LOG_LEVEL_WARN: 'warn',
  LOG_LEVEL_ERROR: 'error',
  LOG_LEVEL_FATAL: 'fatal',
};
const STREAMS = new Set<string>(['stdout', 'stderr', 'console']);

interface Recovery {
  /** The load the trouble happened in; news about an older load is stale. */
  generation: number;
  /** The bridge may still hold the function: unload it before loading again. */
  unloadFirst: boolean;
  /** Count it towards CrashLoopBackOff (a crash), or reload at once (a timeout). */
  backoff: boolean;
}

export class JavaFunction implements FunctionRuntime, BridgeListener {
  readonly #options: JavaFunctionOptions;
  readonly #backoff: CrashLoopBackoff;
  #state: RuntimeState = { phase: 'starting' };
  #restartCount = 0;
  #lastTermination: Termination | undefined;
  /** Counts loads (and their abandonment); every reload and bridge event moves it on. */
  #generation = 0;
  #loadedAt = 0;
  #cpuMicros = 0;
  /** Ends a back-off wait early (on stop, or when the bridge dies meanwhile). */
  #wake: (() => void) | undefined;
  #unregister: (() => void) | undefined;

  constructor(options: JavaFunctionOptions) {
    this.#options = options;
    this.#backoff = new CrashLoopBackoff({ maxMs: options.maxBackoffMs });
  }

  get state(): RuntimeState {
    return this.#state;
  }

  get restartCount(): number {
    return this.#restartCount;
  }

  get lastTermination(): Termination | undefined {
    return this.#lastTermination;
  }

  /**
   * What the bridge accounts for this function: the CPU time of its
   * invocations. A class loader has no resident memory of its own in the
   * shared JVM, so rssBytes is 0; the bytes its invocations allocated are in
   * each outcome (and so in Stats' allocated_bytes).
   */
  usage(): { rssBytes: number; cpuSeconds: number } {
    return { rssBytes: 0, cpuSeconds: this.#cpuMicros / 1e6 };
  }

  async start(): Promise<void> {
    const { key, bridge } = this.#options;
    // Listen before loading, so that what the function prints while it is made reaches its log.
    this.#unregister = bridge.register(key, this);
    try {
      if (!(await bridge.whenUp(BRIDGE_WAIT_MS)))
        throw runtimeUnavailable(
          `Sandbox ${key}: the JVM bridge of this host pod is restarting and did not come back within ${BRIDGE_WAIT_MS / 1000} s`,
        );
      await this.#load();
    } catch (err) {
      this.#unregister();
      const plugError = plugErrorOf(key, err);
      this.#state = { phase: 'failed', reason: plugError.reason, message: plugError.message };
      throw plugError;
    }
    this.#state = { phase: 'ready' };
  }

  async invoke(input: InvokeInput): Promise<InvokeOutcome> {
    const key = this.#options.key;
    if (this.#state.phase !== 'ready') throw sandboxNotReady(key, describeState(this.#state));
    const generation = this.#generation;
    let response: InvokeResponse;
    try {
      response = await this.#options.bridge.client.invoke(
        {
          sandboxId: key,
          requestId: input.requestId,
          payload: eventJson(input),
          timeoutMs: input.timeoutMs,
        },
        { deadlineMs: input.timeoutMs + ANSWER_SLACK_MS },
      );
    } catch (err) {
      return this.#callFailed(err, input, generation);
    }
    this.#cpuMicros += response.cpuMicros;
    const spoilt = spoiltBy(response, input);
    if (spoilt)
      this.#recover(spoilt.ended, { generation, unloadFirst: true, backoff: spoilt.backoff });
    // An OutOfMemoryError is followed by the bridge's OOMKilled SandboxFailure, which reloads it.
    return outcomeOf(response, input.timeoutMs);
  }

  async stop(): Promise<void> {
    const wasLoaded = this.#state.phase !== 'failed' && this.#state.phase !== 'stopped';
    this.#state = { phase: 'stopped' };
    this.#generation++;
    this.#wake?.();
    if (wasLoaded) await this.#unload(this.#options.stopGraceMs ?? 1_000);
    this.#unregister?.();
  }

  // BridgeListener ------------------------------------------------------------

  onLog(entry: LogEntry): void {
    this.#options.hooks.onLog({
      time: entry.timeMs || Date.now(),
      level: LEVELS[entry.level] ?? 'info',
      requestId: entry.requestId,
      message: entry.message,
      stream: (STREAMS.has(entry.stream) ? entry.stream : 'system') as LogLine['stream'],
    });
  }

  onFailure(failure: SandboxFailure): void {
    // The bridge has failed the function and is unloading it; wait for that, then load it again.
    this.#recover(
      { reason: failure.reason, message: failure.message },
      { generation: this.#generation, unloadFirst: true, backoff: true },
    );
  }

  onBridgeExit(exit: Exit): void {
    if (!this.#plugged) return;
    // Whatever was loading or waiting is moot: the restarted bridge starts empty.
    this.#generation++;
    this.#wake?.();
    this.#state = {
      phase: 'restarting',
      reason: 'BridgeRestarting',
      message: `the JVM bridge of this host pod exited (${describeExit(exit)}); waiting for it to restart`,
    };
    this.#options.hooks.onChange();
  }

  onBridgeRestart(event: RestartEvent): void {
    if (!this.#plugged) return;
    this.#generation++;
    this.#wake?.();
    const message = `the JVM bridge of this host pod exited (${describeExit(event.exit)}) and was restarted; the function was loaded into the new one`;
    this.#terminated({
      reason: 'BridgeRestarted',
      message,
      ...(event.exit.code !== null ? { exitCode: event.exit.code } : {}),
      ...(event.exit.signal ? { signal: event.exit.signal } : {}),
    });
    this.#state = { phase: 'restarting', reason: 'BridgeRestarted', message };
    this.#options.hooks.onChange();
    // The bridge itself backs off between restarts; the new one is empty, so no unload.
    void this.#reload(this.#generation, { unloadFirst: false, delayMs: 0 });
  }

  /**
   * Started and not stopped or failed for good. A first load cut short by the
   * bridge's death fails start() on its own, and the sidecar plugs again.
   */
  get #plugged(): boolean {
    const { phase } = this.#state;
    return phase !== 'starting' && phase !== 'stopped' && phase !== 'failed';
  }

  // Loading and reloading -----------------------------------------------------

  async #load(): Promise<void> {
    const o = this.#options;
    const request = {
      sandboxId: o.key,
      jarPath: o.jarPath,
      handler: o.handler,
      functionName: o.functionName,
      functionVersion: o.functionVersion,
      memoryMib: o.memoryMiB,
      timeoutMs: o.timeoutMs,
      concurrency: o.concurrency,
      env: o.env,
    };
    try {
      await o.bridge.client.load(request);
      bridgeLoads.inc();
    } catch (err) {
      // Left over from a load this sidecar lost track of (an unload that failed): replace it.
      if (!(err instanceof JavaBridgeCallError) || err.grpcCode !== GrpcStatus.ALREADY_EXISTS)
        throw err;
      await this.#unload(0);
      await o.bridge.client.load(request);
      bridgeLoads.inc();
    }
    this.#loadedAt = Date.now();
  }

  /** Unloads, ignoring a function the bridge no longer has; other failures are logged, not thrown. */
  async #unload(graceMs: number): Promise<void> {
    try {
      await this.#options.bridge.client.unload(
        { sandboxId: this.#options.key, graceMs },
        { deadlineMs: graceMs + ANSWER_SLACK_MS },
      );
      bridgeUnloads.inc();
    } catch (err) {
      if (err instanceof JavaBridgeCallError && err.grpcCode === GrpcStatus.NOT_FOUND) return;
      this.#options.log.warn(
        { sandbox: this.#options.key, err: errorMessage(err) },
        'cannot unload the Java function',
      );
    }
  }

  /**
   * Something ended the function's current load: record it, count a restart,
   * and load it again (after a back-off for crashes in a row). Late news about
   * a load already replaced is ignored.
   */
  #recover(termination: Ended, recovery: Recovery): void {
    if (recovery.generation !== this.#generation || this.#state.phase !== 'ready') return;
    const generation = ++this.#generation;
    this.#terminated(termination);
    const delayMs = recovery.backoff ? this.#backoff.next(this.#loadedAt) : 0;
    this.#options.log.info(
      { sandbox: this.#options.key, reason: termination.reason, reloadInMs: delayMs },
      'Java function ended; loading it again',
    );
    this.#state =
      delayMs === 0
        ? { phase: 'restarting', reason: termination.reason, message: termination.message }
        : {
            phase: 'backoff',
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(delayMs / 1000)}s restarting the failed function (last exit: ${termination.reason})`,
            until: Date.now() + delayMs,
          };
    this.#options.hooks.onChange();
    void this.#reload(generation, { unloadFirst: recovery.unloadFirst, delayMs });
  }

  async #reload(
    generation: number,
    options: { unloadFirst: boolean; delayMs: number },
  ): Promise<void> {
    const current = () => generation === this.#generation;
    // Unload at once, so a failed function gives back what it holds during its back-off.
    if (options.unloadFirst) await this.#unload(Math.min(this.#options.timeoutMs, RELOAD_GRACE_MS));
    if (options.delayMs > 0) await this.#backoffWait(options.delayMs);
    if (!current()) return;
    try {
      await this.#load();
      if (!current()) {
        // Stopped while it loaded: stop()'s own unload found it still loading.
        if (this.#state.phase === 'stopped') await this.#unload(0);
        return;
      }
      this.#state = { phase: 'ready' };
    } catch (err) {
      if (!current()) return;
      if (!this.#options.bridge.up || !isFunctionError(err)) {
        // The bridge went away meanwhile: its restart loads every Sandbox again.
        this.#state = {
          phase: 'restarting',
          reason: 'BridgeRestarting',
          message: `cannot reach the JVM bridge: ${errorMessage(err)}; waiting for it`,
        };
      } else {
        this.#state = {
          phase: 'failed',
          reason: 'RestartFailed',
          message: `the function could not be loaded again: ${loadMessage(err)}`,
        };
      }
    }
    this.#options.hooks.onChange();
  }

  /** Waits out a back-off; #wake ends it early. */
  #backoffWait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #terminated(termination: Ended): void {
    this.#restartCount++;
    functionRestarts.labels('java').inc();
    this.#lastTermination = { ...termination, finishedAt: new Date().toISOString() };
  }

  /** An invocation whose call to the bridge failed: a refusal, a lost answer, or a lost bridge. */
  #callFailed(err: unknown, input: InvokeInput, generation: number): InvokeOutcome {
    if (!(err instanceof JavaBridgeCallError)) throw err;
    const key = this.#options.key;
    if (err.grpcCode === GrpcStatus.DEADLINE_EXCEEDED) {
      // The bridge did not answer even well after the function's timeout: treat it as one.
      this.#recover(
        {
          reason: 'Timeout',
          message: `the JVM bridge did not answer invocation ${input.requestId} within ${input.timeoutMs + ANSWER_SLACK_MS} ms; the function was loaded afresh`,
        },
        { generation, unloadFirst: true, backoff: false },
      );
      return timedOut(input.timeoutMs);
    }
    const refusal = refusalOf(key, err);
    if (refusal) {
      if (err.grpcCode === GrpcStatus.NOT_FOUND) this.#checkLost(generation);
      throw refusal;
    }
    return bridgeLost(err.details);
  }

  /**
   * The bridge no longer has a function this sidecar thinks is loaded. It
   * failed it, and its SandboxFailure (which says why) is on its way; should
   * that never come, reload the function anyway rather than refuse every call.
   */
  #checkLost(generation: number): void {
    const timer = setTimeout(
      () =>
        this.#recover(
          {
            reason: 'Error',
            message: 'the JVM bridge had unloaded the function without saying why',
          },
          { generation, unloadFirst: false, backoff: true },
        ),
      LOST_FUNCTION_CHECK_MS,
    );
    timer.unref();
  }
}

function describeState(state: RuntimeState): string {
  return 'message' in state ? `${state.reason}: ${state.message}` : state.phase;
}

function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/** The event as the bridge takes it: JSON, built here from a compact HTTP request. */
function eventJson(input: InvokeInput): Uint8Array {
  if (input.format !== 'http-request') return input.payload;
  let request: HttpRequestInfo;
  try {
    request = decodeHttpRequest(bufferView(input.payload));
  } catch (err) {
    throw invalidPayload(errorMessage(err));
  }
  return functionUrlEventJson(request);
}
