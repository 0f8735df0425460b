// The SandboxHost gRPC contract (proto/roost/v1alpha1/sandbox_host.proto),
// loaded at run time with @grpc/proto-loader, and TypeScript types for its
// messages as proto-loader presents them (camelCase fields, 64-bit integers
// as numbers, enums as their names, bytes as Buffers), generated from it.
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

// The message types, generated from the .proto (npm run generate:proto) with
// the options loadSync uses above: what arrives is the "__Output" form, every
// field present. The names here are the ones the code has always used.
export type { FunctionError__Output as FunctionError } from './generated/roost/v1alpha1/FunctionError.ts';
export type { LogLevel__Output as LogLevel } from './generated/roost/v1alpha1/LogLevel.ts';
export type { InvokeRequest__Output as InvokeRequest } from './generated/roost/v1alpha1/InvokeRequest.ts';
export type { Rejection__Output as Rejection } from './generated/roost/v1alpha1/Rejection.ts';
export type { InvokeResponse__Output as InvokeResponse } from './generated/roost/v1alpha1/InvokeResponse.ts';
export type { LogsRequest__Output as LogsRequest } from './generated/roost/v1alpha1/LogsRequest.ts';
export type { LogEntry__Output as LogEntry } from './generated/roost/v1alpha1/LogEntry.ts';
export type { StatsRequest__Output as StatsRequest } from './generated/roost/v1alpha1/StatsRequest.ts';
export type { SandboxStats__Output as SandboxStatsMessage } from './generated/roost/v1alpha1/SandboxStats.ts';
export type { StatsResponse__Output as StatsResponse } from './generated/roost/v1alpha1/StatsResponse.ts';
export type { JavaBridgeStats__Output as JavaBridgeStats } from './generated/roost/v1alpha1/JavaBridgeStats.ts';
export type { HealthResponse__Output as HealthResponse } from './generated/roost/v1alpha1/HealthResponse.ts';
