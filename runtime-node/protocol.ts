// The messages between the sidecar and a runtime-node process, over Node's IPC
// channel with advanced serialization (so Buffers cross without base64).

/** Sidecar to runtime. */
export type ToRuntime =
  | {
      type: 'specialize';
      /** Directory holding the function code (a link into the sidecar's code cache). */
      codeDir: string;
      handler: string;
      env: Record<string, string>;
      functionName: string;
      functionVersion: string;
      memoryMiB: number;
    }
  | { type: 'invoke'; id: number; requestId: string; payload: Uint8Array; deadline: number }
  | { type: 'ping'; id: number };

export interface FunctionFailure {
  /** The error's name, such as TypeError, or Roost's: InvalidPayload, HandlerNotFound. */
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

/** Runtime to sidecar. */
export type FromRuntime =
  | { type: 'booted' }
  | { type: 'specialized'; loadMs: number }
  | ({ type: 'specialize-failed' } & FunctionFailure)
  | { type: 'result'; id: number; result: Uint8Array | undefined; durationMs: number }
  | ({ type: 'error'; id: number; durationMs: number } & FunctionFailure)
  | {
      type: 'log';
      time: number;
      level: LogLevelName;
      requestId: string;
      message: string;
      stream: 'stdout' | 'stderr' | 'console';
    }
  | { type: 'pong'; id: number };

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
