// The objects `roost deploy` writes, as pure builders: the immutable code
// ConfigMap named by its digest, and the SandboxDeployment it applies.
import type { ConfigMap } from '../kube/api/core.ts';
import type { SandboxDeployment, FunctionSpec, Runtime } from '../kube/api/roost.ts';
import { ROOST_API_VERSION } from '../kube/api/resources.ts';
import { CODE_SHA256_ANNOTATION, DEPLOYMENT_LABEL } from '../kube/well-known.ts';
import type { CodePackage } from './code-package.ts';

/** Who made an object, on everything `roost deploy` writes, so that it cleans up only its own. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_CLI = 'roost-cli';

/** <deployment>-code-<first 10 hex digits of the SHA-256>: the same code, the same name. */
export function codeConfigMapName(deployment: string, sha256: string): string {
  return `${deployment}-code-${sha256.slice(0, 10)}`;
}

export function makeCodeConfigMap(
  deployment: string,
  namespace: string,
  pkg: CodePackage,
): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: codeConfigMapName(deployment, pkg.sha256),
      namespace,
      labels: { [DEPLOYMENT_LABEL]: deployment, [MANAGED_BY_LABEL]: MANAGED_BY_CLI },
      annotations: { [CODE_SHA256_ANNOTATION]: pkg.sha256 },
    },
    // Immutable: Sandboxes of every revision that uses it read the same bytes,
    // and the API server need not watch it.
    immutable: true,
    binaryData: { [pkg.key]: pkg.bytes.toString('base64') },
  };
}

export interface FunctionSettings {
  name: string;
  namespace: string;
  runtime: Runtime;
  handler: string;
  configMap: { name: string; key: string };
  memoryMiB?: number;
  timeoutSeconds?: number;
  concurrency?: number;
  env: [string, string][];
  /** Fixed replicas; ignored with autoscaling, where the autoscaler owns replicas. */
  replicas?: number;
  autoscaling?: { minReplicas?: number; maxReplicas?: number };
}

/**
 * The whole declaration of a function, for server-side apply: what the flags
 * give, nothing else, so that a flag left out returns to its default.
 * With autoscaling, replicas is left out: the autoscaler sets it through the
 * scale subresource, and the CLI must not fight it on every deploy.
 */
export function makeSandboxDeployment(settings: FunctionSettings): SandboxDeployment {
  const fn: FunctionSpec = {
    runtime: settings.runtime,
    handler: settings.handler,
    code: { configMap: settings.configMap },
  };
  if (settings.memoryMiB !== undefined) fn.memoryMiB = settings.memoryMiB;
  if (settings.timeoutSeconds !== undefined) fn.timeoutSeconds = settings.timeoutSeconds;
  if (settings.concurrency !== undefined) fn.concurrency = settings.concurrency;
  if (settings.env.length > 0) fn.env = settings.env.map(([name, value]) => ({ name, value }));
  return {
    apiVersion: ROOST_API_VERSION,
    kind: 'SandboxDeployment',
    metadata: {
      name: settings.name,
      namespace: settings.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_CLI },
    },
    spec: {
      ...(settings.autoscaling
        ? { autoscaling: settings.autoscaling }
        : { replicas: settings.replicas ?? 1 }),
      template: { spec: { function: fn } },
    },
  };
}

/** The ConfigMaps a deployment's template and its ReplicaSets' templates name. */
export function referencedConfigMaps(
  templates: { spec: { function: FunctionSpec } }[],
): Set<string> {
  const names = new Set<string>();
  for (const template of templates) {
    const name = template.spec.function.code.configMap?.name;
    if (name) names.add(name);
  }
  return names;
}
