// What the sidecar needs from a language runtime, whatever isolates the
// function: an OS process (Node) or a class loader in the pod's JVM (Java).
import type { Termination } from '../kube/api/roost.ts';
import type { LogLine } from './log-store.ts';
import type { PayloadFormat } from '../proto/invoke-frames.ts';

export interface InvokeInput {
  requestId: string;
  /** The event as JSON, or an HTTP request in compact form (`format`). */
  payload: Uint8Array;
  /** Absent: 'json'. */
  format?: PayloadFormat;
  timeoutMs: number;
}

export type FunctionErrorKind = 'unhandled' | 'timeout' | 'out-of-memory' | 'crashed';

export interface InvokeOutcome {
  /** The handler's result as JSON; undefined for no result. */
  result?: Uint8Array;
  error?: {
    kind: FunctionErrorKind;
    errorType: string;
    errorMessage: string;
    stackTrace: string[];
  };
  durationMs: number;
  memoryBytes: number;
  /** The function had to be started or resumed for this call. */
  coldStart: boolean;
  /** CPU time the invocation used, where the runtime measures it per call (Java). */
  cpuMicros?: number;
  /** Bytes the invocation allocated, where the runtime measures it per call (Java). */
  allocatedBytes?: number;
}

/**
 * Where a function is in its life. `ready` and `hibernated` take invocations
 * (a hibernated one resumes first); `restarting` and `backoff` follow a crash;
 * `failed` is final until the Sandbox is replaced.
 */
export type RuntimeState =
  | { phase: 'starting' }
  | { phase: 'ready' }
  | { phase: 'hibernated' }
  | { phase: 'restarting'; reason: string; message: string }
  | { phase: 'backoff'; reason: string; message: string; until: number }
  | { phase: 'failed'; reason: string; message: string }
  | { phase: 'stopped' };

export interface FunctionRuntime {
  readonly state: RuntimeState;
  readonly restartCount: number;
  readonly lastTermination: Termination | undefined;
  /** Plugs the function; throws a PlugError that says why it cannot run. */
  start(): Promise<void>;
  /** Runs one invocation; the caller has already applied the concurrency limit. */
  invoke(input: InvokeInput): Promise<InvokeOutcome>;
  /** Stops the function for good. */
  stop(): Promise<void>;
  /** Stops an idle function's process, keeping it ready to resume; false if it cannot. */
  hibernate?(): Promise<boolean>;
  /** Resident memory and CPU time, where the runtime can tell. */
  usage(): { rssBytes: number; cpuSeconds: number };
}

/** How a runtime reports back to the Sandbox that owns it. */
export interface RuntimeHooks {
  /** State, restart count or termination changed: status may need a write. */
  onChange(): void;
  /** A line the function printed. */
  onLog(line: Pick<LogLine, 'time' | 'level' | 'requestId' | 'message' | 'stream'>): void;
}
