// What a Sandbox asks of a host pod, with the CRD's defaults for what it
// leaves out (the API server fills them in, but a Sandbox written before a
// default existed may lack them).
import type { Sandbox } from '../kube/api/roost.ts';
import { cacheKey } from '../kube/client.ts';
import { DEPLOYMENT_LABEL } from '../kube/well-known.ts';
import type { SandboxRequest } from './types.ts';
import { FUNCTION_DEFAULTS } from '../kube/api/defaults.ts';

export function requestOf(sandbox: Sandbox): SandboxRequest {
  const fn = sandbox.spec.function;
  const namespace = sandbox.metadata.namespace ?? 'default';
  const deployment = sandbox.metadata.labels?.[DEPLOYMENT_LABEL];
  return {
    key: cacheKey(sandbox),
    namespace,
    runtime: fn.runtime,
    memoryMiB: fn.memoryMiB ?? FUNCTION_DEFAULTS.memoryMiB,
    cpuMillis: fn.cpuMillis ?? FUNCTION_DEFAULTS.cpuMillis,
    deployment: deployment ? `${namespace}/${deployment}` : undefined,
    strongIsolation: sandbox.spec.isolation === 'Strong',
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
