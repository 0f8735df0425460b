// A Sandbox plugged into this host pod: its function runtime behind a
// concurrency limit, its statistics, and the drain that precedes unplugging.
import type { Runtime } from '../kube/api/roost.ts';
import type { FunctionRuntime, InvokeOutcome } from './function-runtime.ts';
import { InvocationLimiter, LimiterFullError } from './invocation-limiter.ts';
import { invalidPayload, sandboxDraining, sandboxNotReady, sandboxOverloaded } from './errors.ts';
import { SandboxStats } from './stats.ts';
import type { CodeRef } from './code/code-cache.ts';
import type { PayloadFormat } from '../proto/invoke-frames.ts';

export interface SandboxIdentity {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** The SandboxDeployment it belongs to, or its own name. */
  deployment: string;
  /** Template hash of its revision, or its generation. */
  revision: string;
  runtime: Runtime;
}

export interface PluggedSandboxOptions {
  identity: SandboxIdentity;
  runtime: FunctionRuntime;
  code: CodeRef;
  concurrency: number;
  timeoutMs: number;
  startTime: string;
}

export class PluggedSandbox {
  readonly identity: SandboxIdentity;
  readonly runtime: FunctionRuntime;
  readonly code: CodeRef;
  readonly startTime: string;
  readonly stats = new SandboxStats();
  readonly #limiter: InvocationLimiter;
  readonly #timeoutMs: number;
  #draining = false;
  #lastActivity = Date.now();

  constructor(options: PluggedSandboxOptions) {
    this.identity = options.identity;
    this.runtime = options.runtime;
    this.code = options.code;
    this.startTime = options.startTime;
    this.#timeoutMs = options.timeoutMs;
    // A short queue absorbs a burst; beyond it callers hear "overloaded" at once.
    this.#limiter = new InvocationLimiter({
      concurrency: options.concurrency,
      queueLimit: Math.max(10, options.concurrency * 4),
    });
  }

  get key(): string {
    return `${this.identity.namespace}/${this.identity.name}`;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.#limiter.inFlight;
  }

  get idleForMs(): number {
    return this.#limiter.inFlight > 0 || this.#limiter.queued > 0
      ? 0
      : Date.now() - this.#lastActivity;
  }

  async invoke(input: {
    requestId: string;
    payload: Uint8Array;
    format?: PayloadFormat;
    timeoutMs?: number;
  }): Promise<InvokeOutcome> {
    if (this.#draining) throw sandboxDraining(this.key);
    const state = this.runtime.state;
    if (state.phase === 'failed' || state.phase === 'stopped') {
      throw sandboxNotReady(
        this.key,
        'message' in state ? `${state.reason}: ${state.message}` : state.phase,
      );
    }
    try {
      // A free place is taken without a turn of the event loop, as most are.
      if (!this.#limiter.tryAcquire()) await this.#limiter.acquire();
    } catch (err) {
      if (err instanceof LimiterFullError)
        throw sandboxOverloaded(this.key, this.#limiter.inFlight, this.#limiter.queued);
      throw sandboxDraining(this.key);
    }
    try {
      const timeoutMs =
        input.timeoutMs && input.timeoutMs > 0
          ? Math.min(input.timeoutMs, this.#timeoutMs)
          : this.#timeoutMs;
      const outcome = await this.runtime.invoke({
        requestId: input.requestId,
        payload: input.payload,
        format: input.format,
        timeoutMs,
      });
      if (outcome.error?.errorType === 'InvalidPayload')
        throw invalidPayload(outcome.error.errorMessage);
      this.stats.record({
        durationMs: outcome.durationMs,
        error: outcome.error !== undefined,
        timeout: outcome.error?.kind === 'timeout',
        coldStart: outcome.coldStart,
        cpuMicros: outcome.cpuMicros,
        allocatedBytes: outcome.allocatedBytes,
      });
      return outcome;
    } finally {
      this.#lastActivity = Date.now();
      this.#limiter.release();
    }
  }

  /** Takes no new invocations; resolves when in-flight ones finished or the grace period ended. */
  async drain(graceMs: number): Promise<boolean> {
    this.#draining = true;
    this.#limiter.close();
    return this.#limiter.whenIdle(graceMs);
  }
}
