// The SandboxHost gRPC contract (proto/roost/v1alpha1/sandbox_host.proto),
// loaded at run time with @grpc/proto-loader, and TypeScript types for its
// messages as proto-loader presents them: camelCase fields, 64-bit integers
// as numbers, enums as their names, bytes as Buffers.
import {
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';

export const PROTO_ROOT = import.meta.dirname;

const definition = loadSync(['roost/v1alpha1/sandbox_host.proto'], {
  includeDirs: [PROTO_ROOT],
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

const roost = (loadPackageDefinition(definition).roost as GrpcObject).v1alpha1 as GrpcObject;

export const SandboxHostClient = roost.SandboxHost as ServiceClientConstructor;
export const sandboxHostService: ServiceDefinition = SandboxHostClient.service;
export const SANDBOX_HOST_PROTO = join(PROTO_ROOT, 'roost/v1alpha1/sandbox_host.proto');

/**
 * Response metadata on a refusal that happened before any function ran, so
 * that a gateway knows it may send the request to another Sandbox without
 * running it twice.
 */
export const NOT_INVOKED_METADATA = 'roost-not-invoked';

export type FunctionError =
  | 'FUNCTION_ERROR_NONE'
  | 'FUNCTION_ERROR_UNHANDLED'
  | 'FUNCTION_ERROR_TIMEOUT'
  | 'FUNCTION_ERROR_OUT_OF_MEMORY'
  | 'FUNCTION_ERROR_CRASHED';

export type LogLevel =
  | 'LOG_LEVEL_UNSPECIFIED'
  | 'LOG_LEVEL_TRACE'
  | 'LOG_LEVEL_DEBUG'
  | 'LOG_LEVEL_INFO'
  | 'LOG_LEVEL_WARN'
  | 'LOG_LEVEL_ERROR'
  | 'LOG_LEVEL_FATAL';

export interface InvokeRequest {
  namespace: string;
  sandbox: string;
  requestId: string;
  payload: Buffer;
  metadata: Record<string, string>;
  timeoutMs: number;
  /** InvokeStream only: echoed in the response. */
  streamId: number;
  /** Return the invocation's last log lines in logTail. */
  tailLogs?: boolean;
}

export interface Rejection {
  /** A gRPC status code. */
  code: number;
  message: string;
  notInvoked: boolean;
}

export interface InvokeResponse {
  result: Buffer;
  error: FunctionError;
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
  durationMs: number;
  memoryBytes: number;
  coldStart: boolean;
  cpuMicros: number;
  /** InvokeStream only. */
  streamId: number;
  /** InvokeStream only: set when the invocation was refused. */
  rejection: Rejection | null;
  /** With tailLogs: the invocation's log lines and a REPORT line, at most the last 4096 bytes. */
  logTail?: string;
}

export interface LogsRequest {
  namespace: string;
  sandbox: string;
  deployment: string;
  minLevel: LogLevel;
  sinceMs: number;
  untilMs: number;
  contains: string;
  requestId: string;
  follow: boolean;
  limit: number;
}

export interface LogEntry {
  namespace: string;
  sandbox: string;
  deployment: string;
  timeMs: number;
  level: LogLevel;
  requestId: string;
  message: string;
  stream: string;
}

export interface StatsRequest {
  namespace: string;
  sandbox: string;
  deployment: string;
}

export interface SandboxStatsMessage {
  namespace: string;
  sandbox: string;
  deployment: string;
  runtime: string;
  invocations: number;
  errors: number;
  timeouts: number;
  coldStarts: number;
  p50Ms: number;
  p99Ms: number;
  cpuSeconds: number;
  rssBytes: number;
  inFlight: number;
  restarts: number;
  hibernated: boolean;
  allocatedBytes: number;
}

export interface StatsResponse {
  pod: string;
  sandboxes: SandboxStatsMessage[];
}

export interface HealthResponse {
  serving: boolean;
  pod: string;
  sandboxes: number;
  runtimes: string[];
}
