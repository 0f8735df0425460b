// What a Sandbox asks of a host pod, with the CRD's defaults for what it
// leaves out (the API server fills them in, but a Sandbox written before a
// default existed may lack them).
import type { Sandbox } from '../kube/api/roost.ts';
import { cacheKey } from '../kube/client.ts';
import { DEPLOYMENT_LABEL } from '../kube/well-known.ts';
import type { SandboxRequest } from './types.ts';

export const DEFAULT_MEMORY_MIB = 128;
export const DEFAULT_CPU_MILLIS = 100;

export function requestOf(sandbox: Sandbox): SandboxRequest {
  const fn = sandbox.spec.function;
  const namespace = sandbox.metadata.namespace ?? 'default';
  const deployment = sandbox.metadata.labels?.[DEPLOYMENT_LABEL];
  return {
    key: cacheKey(sandbox),
    namespace,
    runtime: fn.runtime,
    memoryMiB: fn.memoryMiB ?? DEFAULT_MEMORY_MIB,
    cpuMillis: fn.cpuMillis ?? DEFAULT_CPU_MILLIS,
    deployment: deployment ? `${namespace}/${deployment}` : undefined,
  };
}

/** Holds a place on a host pod: bound and not being deleted. */
export function occupiesHost(sandbox: Sandbox): boolean {
  return !!sandbox.spec.podName && !sandbox.metadata.deletionTimestamp;
}

/** Waits for the scheduler: unbound and not being deleted. */
export function needsScheduling(sandbox: Sandbox): boolean {
  return !sandbox.spec.podName && !sandbox.metadata.deletionTimestamp;
}
