// A Node.js function in its own OS process. It owns the process's life: take
// one from the warm pool and specialise it (plug), run invocations with a
// timeout, kill it when it goes over memory or stops answering, restart it
// after a crash with exponential back-off (CrashLoopBackOff), and stop it while
// idle (hibernate) to resume it from the pool on the next invocation.
import { functionRestarts, resumes } from '../metrics.ts';
import { join } from 'node:path';
import type { Termination } from '../../kube/api/roost.ts';
import type { Logger } from '../../lib/log.ts';
import { errorMessage } from '../../lib/errors.ts';
import { CrashLoopBackoff } from '../crash-loop-backoff.ts';
import { functionLoadFailed, runtimeUnavailable, sandboxNotReady } from '../errors.ts';
import type {
  FunctionRuntime,
  InvokeInput,
  InvokeOutcome,
  RuntimeHooks,
  RuntimeState,
} from '../function-runtime.ts';
import type { WarmPool } from './process-pool.ts';
import {
  ProcessExitedError,
  SpecializeError,
  describeExit,
  type FunctionIdentity,
  type InvokeReply,
  type RuntimeProcess,
} from './runtime-process.ts';
import type { TmpUsage, TmpWatch } from './tmp-watch.ts';
import type { UsageSampler } from './usage-sampler.ts';

export interface NodeFunctionOptions {
  /** namespace/name of the Sandbox, for messages. */
  key: string;
  codeDir: string;
  handler: string;
  env: Record<string, string>;
  identity: FunctionIdentity;
  /** RSS above this kills the process as OOMKilled. */
  rssLimitBytes: number;
  pool: WarmPool;
  sampler: UsageSampler;
  /** Watches the size of the process's temporary directory, if set. */
  tmpWatch?: TmpWatch;
  /** Over this, the process is killed (TmpLimitExceeded), as the kubelet evicts a pod over its ephemeral storage. */
  tmpLimitBytes?: number;
  hooks: RuntimeHooks;
  log: Logger;
  /** How long a timed-out process gets to answer a ping before it is killed (default 1 s). */
  unresponsiveAfterMs?: number;
  /** Longest wait between restarts (default 60 s). */
  maxBackoffMs?: number;
}

export class NodeFunction implements FunctionRuntime {
  readonly #options: NodeFunctionOptions;
  #state: RuntimeState = { phase: 'starting' };
  #process: RuntimeProcess | undefined;
  #unwatch: (() => void) | undefined;
  #unwatchTmp: (() => void) | undefined;
  #restartCount = 0;
  readonly #backoff: CrashLoopBackoff;
  #lastTermination: Termination | undefined;
  #startedAt = 0;
  /** Set when Roost kills the process, so that its exit is named for the cause. */
  #killedFor: { reason: string; message: string } | undefined;
  #resuming: Promise<void> | undefined;
  /**
   * Set while a process that let an invocation time out is asked whether it
   * still answers. New invocations wait for the verdict instead of being sent
   * to a process that may be about to be killed for a blocked event loop.
   */
  #checking: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #rssBytes = 0;
  #cpuSeconds = 0;
  #cpuBefore = 0;
  readonly #inFlight = new Set<string>();

  constructor(options: NodeFunctionOptions) {
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

  usage(): { rssBytes: number; cpuSeconds: number } {
    return { rssBytes: this.#rssBytes, cpuSeconds: this.#cpuBefore + this.#cpuSeconds };
  }

  async start(): Promise<void> {
    try {
      await this.#launch();
    } catch (err) {
      this.#state = { phase: 'failed', reason: 'FunctionLoadFailed', message: errorMessage(err) };
      if (err instanceof SpecializeError || err instanceof ProcessExitedError) {
        throw functionLoadFailed(`Sandbox ${this.#options.key}: ${err.message}`);
      }
      throw runtimeUnavailable(
        `Sandbox ${this.#options.key}: cannot start a Node.js process: ${errorMessage(err)}`,
      );
    }
    this.#state = { phase: 'ready' };
  }

  async invoke(input: InvokeInput): Promise<InvokeOutcome> {
    let coldStart = false;
    if (this.#state.phase === 'hibernated' || this.#resuming) {
      coldStart = true;
      await this.#resume();
    }
    if (this.#checking) await this.#checking;
    const process = this.#process;
    if (this.#state.phase !== 'ready' || !process) {
      const why =
        'message' in this.#state
          ? `${this.#state.reason}: ${this.#state.message}`
          : this.#state.phase;
      throw sandboxNotReady(this.#options.key, why);
    }
    this.#inFlight.add(input.requestId);
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = Date.now() + input.timeoutMs;
      // The reply or the timeout, whichever comes first: one promise for both,
      // rather than Promise.race over a second one, on every invocation.
      const reply = await new Promise<InvokeReply | 'timeout'>((resolve, reject) => {
        timer = setTimeout(resolve, input.timeoutMs, 'timeout');
        process.invoke(input, deadline).then(resolve, reject);
      });
      if (reply === 'timeout') {
        this.#checking ??= this.#checkAfterTimeout(process).finally(
          () => (this.#checking = undefined),
        );
        return this.#outcome(coldStart, input.timeoutMs, {
          kind: 'timeout',
          errorType: 'Timeout',
          errorMessage: `Task timed out after ${(input.timeoutMs / 1000).toFixed(2)} seconds`,
          stackTrace: [],
        });
      }
      if (reply.ok) return { ...this.#outcome(coldStart, reply.durationMs), result: reply.result };
      const { errorType, errorMessage: message, stackTrace } = reply;
      return this.#outcome(coldStart, reply.durationMs, {
        kind: 'unhandled',
        errorType,
        errorMessage: message,
        stackTrace,
      });
    } catch (err) {
      if (!(err instanceof ProcessExitedError)) throw err;
      const oom = err.outOfMemory || this.#killedFor?.reason === 'OOMKilled';
      return this.#outcome(coldStart, 0, {
        kind: oom ? 'out-of-memory' : 'crashed',
        errorType: oom ? 'OutOfMemory' : 'Runtime.ExitError',
        errorMessage: this.#killedFor?.message ?? err.message,
        stackTrace: [],
      });
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(input.requestId);
    }
  }

  async hibernate(): Promise<boolean> {
    if (this.#state.phase !== 'ready' || this.#inFlight.size > 0 || !this.#process) return false;
    const process = this.#process;
    this.#state = { phase: 'hibernated' };
    this.#detach();
    this.#options.hooks.onChange();
    await process.stop(1000);
    return true;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#state = { phase: 'stopped' };
    const process = this.#process;
    this.#detach();
    await process?.stop(1000);
  }

  #outcome(coldStart: boolean, durationMs: number, error?: InvokeOutcome['error']): InvokeOutcome {
    return { durationMs, memoryBytes: this.#rssBytes, coldStart, ...(error ? { error } : {}) };
  }

  /** Takes a process, links the code in, loads the handler, and watches the process. */
  async #launch(): Promise<void> {
    const options = this.#options;
    const { process } = options.pool.take(options.identity.memoryMiB);
    process.onLog = (message) => options.hooks.onLog(message);
    process.currentRequestId = () => (this.#inFlight.size === 1 ? [...this.#inFlight][0]! : '');
    try {
      await process.specialize(options.codeDir, options.handler, options.env, options.identity);
    } catch (err) {
      process.kill();
      throw err;
    } finally {
      options.pool.replenish(options.identity.memoryMiB);
    }
    this.#process = process;
    this.#startedAt = Date.now();
    this.#killedFor = undefined;
    this.#cpuBefore += this.#cpuSeconds;
    this.#cpuSeconds = 0;
    if (process.pid !== undefined)
      this.#unwatch = options.sampler.watch(process.pid, (usage) => this.#onUsage(process, usage));
    if (options.tmpWatch && options.tmpLimitBytes !== undefined)
      this.#unwatchTmp = options.tmpWatch.watch(
        join(process.slotDir, 'tmp'),
        options.tmpLimitBytes,
        (usage) => this.#onTmpFull(process, usage),
      );
    void process.exited.then((exit) => this.#onExit(process, exit));
  }

  #detach(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#unwatchTmp?.();
    this.#unwatchTmp = undefined;
    this.#process = undefined;
  }

  #resume(): Promise<void> {
    this.#resuming ??= (async () => {
      resumes.inc();
      this.#state = { phase: 'starting' };
      try {
        await this.#launch();
        this.#state = { phase: 'ready' };
      } catch (err) {
        this.#state = { phase: 'failed', reason: 'ResumeFailed', message: errorMessage(err) };
      } finally {
        this.#resuming = undefined;
        this.#options.hooks.onChange();
      }
    })();
    return this.#resuming;
  }

  #onUsage(process: RuntimeProcess, usage: { rssBytes: number; cpuSeconds: number }): void {
    if (process !== this.#process) return;
    this.#rssBytes = usage.rssBytes;
    this.#cpuSeconds = usage.cpuSeconds;
    const limit = this.#options.rssLimitBytes;
    // With a cgroup the kernel holds the limit on what the process itself
    // charges; resident memory also counts the node binary's pages that other
    // processes share, and would stop a function short of its limit.
    if (process.memoryEnforcedByKernel) return;
    if (usage.rssBytes > limit && !this.#killedFor) {
      const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
      this.#killedFor = {
        reason: 'OOMKilled',
        message: `resident memory ${mib(usage.rssBytes)} went over the limit of ${mib(limit)}`,
      };
      process.kill('SIGKILL');
    }
  }

  #onTmpFull(process: RuntimeProcess, usage: TmpUsage): void {
    if (process !== this.#process || this.#killedFor) return;
    const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
    this.#killedFor = {
      reason: 'TmpLimitExceeded',
      message: `its temporary directory held ${mib(usage.bytes)} in ${usage.entries} entries, over the limit of ${mib(this.#options.tmpLimitBytes!)}`,
    };
    process.kill('SIGKILL');
  }

  /**
   * After a timeout: a process that no longer answers (a blocked event loop)
   * is killed and restarted. Resolves once that is decided and, for a killed
   * process, once its exit has been handled (the Sandbox is restarting).
   */
  async #checkAfterTimeout(process: RuntimeProcess): Promise<void> {
    if (await process.ping(this.#options.unresponsiveAfterMs ?? 1000)) return;
    if (process !== this.#process || this.#killedFor) return;
    this.#killedFor = {
      reason: 'Timeout',
      message:
        'the function timed out and its process stopped answering (a blocked event loop), so it was killed',
    };
    process.kill('SIGKILL');
    await process.exited;
  }

  #onExit(process: RuntimeProcess, exited: ProcessExitedError): void {
    if (process !== this.#process) return;
    this.#detach();
    const killedFor = this.#killedFor;
    const reason =
      killedFor?.reason ??
      (exited.outOfMemory ? 'OOMKilled' : exited.exit.code === 0 ? 'Completed' : 'Error');
    this.#lastTermination = {
      reason,
      message:
        killedFor?.message ??
        `the function process exited (${describeExit(exited.exit)})${exited.message.includes(': ') ? `: ${exited.message.split(': ').slice(1).join(': ')}` : ''}`,
      ...(exited.exit.code !== null ? { exitCode: exited.exit.code } : {}),
      ...(exited.exit.signal ? { signal: exited.exit.signal } : {}),
      finishedAt: new Date().toISOString(),
    };
    this.#restartCount++;
    functionRestarts.labels('nodejs').inc();
    const delay = this.#backoff.next(this.#startedAt);
    this.#options.log.info(
      { sandbox: this.#options.key, reason, restartInMs: delay },
      'function process exited; restarting',
    );
    if (delay === 0) {
      this.#state = { phase: 'restarting', reason, message: this.#lastTermination.message! };
      void this.#restart();
    } else {
      this.#state = {
        phase: 'backoff',
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(delay / 1000)}s restarting the failed function (last exit: ${reason})`,
        until: Date.now() + delay,
      };
      this.#restartTimer = setTimeout(() => void this.#restart(), delay);
    }
    this.#options.hooks.onChange();
  }

  async #restart(): Promise<void> {
    if (this.#state.phase === 'stopped') return;
    try {
      await this.#launch();
      if ((this.#state as RuntimeState).phase === 'stopped') {
        await this.#process?.stop(500);
        return;
      }
      this.#state = { phase: 'ready' };
    } catch (err) {
      this.#state = { phase: 'failed', reason: 'RestartFailed', message: errorMessage(err) };
    }
    this.#options.hooks.onChange();
  }
}
