// The messages between the sidecar and a runtime-node process: control over
// Node's IPC channel (advanced serialization), and invocations as frames
// (frames.js) on the socket pair at the process's fd 4, the event and the
// result as the frames' bodies.

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
  | { type: 'pong'; id: number };

/** A line the function printed, on the invocation socket, before the reply of the invocation that printed it. */
export interface LogFrame {
  type: 'log';
  time: number;
  level: LogLevelName;
  requestId: string;
  message: string;
  stream: 'stdout' | 'stderr' | 'console';
}

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Sidecar to runtime on the invocation socket (frame-headers.js: INVOKE_HEADER); the body is the event as JSON. */
export interface InvokeFrame {
  id: number;
  requestId: string;
  /** Epoch milliseconds by which the function must answer (context.getRemainingTimeInMillis). */
  deadline: number;
  /** The body is an HTTP request in compact form (function-url-event.js), not the event as JSON. */
  httpRequest: boolean;
}

/** Runtime to sidecar on the invocation socket (REPLY_HEADER); for a result, the body is its JSON. */
export type ReplyFrame =
  | { id: number; ok: true; hasResult: boolean; durationMs: number }
  | ({ id: number; ok: false; durationMs: number } & FunctionFailure);
