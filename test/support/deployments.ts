// A SandboxDeployment of a trivial inline Node function, for tests that care
// about where replicas run rather than what they do.
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { SandboxDeployments } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { eventually } from './cluster.ts';

/** A Node.js function from one inline source file, as a SandboxDeployment object. */
export function nodeFunction(options: {
  namespace: string;
  name: string;
  source: string;
  replicas?: number;
  memoryMiB?: number;
  concurrency?: number;
  env?: Record<string, string>;
  spec?: Partial<SandboxDeployment['spec']>;
}): SandboxDeployment {
  return {
    apiVersion: 'roost.dev/v1alpha1',
    kind: 'SandboxDeployment',
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      replicas: options.replicas ?? 1,
      ...options.spec,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: options.memoryMiB ?? 64,
            ...(options.concurrency ? { concurrency: options.concurrency } : {}),
            ...(options.env
              ? { env: Object.entries(options.env).map(([key, value]) => ({ name: key, value })) }
              : {}),
            code: { inline: { files: { 'index.mjs': options.source } } },
          },
        },
      },
    },
  } as SandboxDeployment;
}

export async function createTrivialDeployment(
  client: KubeClient,
  options: { namespace: string; name: string; replicas: number },
): Promise<SandboxDeployment> {
  return client.create(
    SandboxDeployments,
    nodeFunction({
      ...options,
      memoryMiB: 128,
      source: "export const handler = async () => 'ok';",
    }),
  );
}

/**
 * A Node function from one inline source file, created and waited for until
 * all its replicas are ready; `env` reaches the function, `spec` adds
 * SandboxDeployment fields (async, gateway, ...).
 */
export async function deployNodeFunction(
  client: KubeClient,
  options: {
    namespace: string;
    name: string;
    source: string;
    replicas?: number;
    env?: Record<string, string>;
    spec?: Partial<SandboxDeployment['spec']>;
  },
): Promise<void> {
  const { namespace, name } = options;
  const replicas = options.replicas ?? 1;
  await client.create(
    SandboxDeployments,
    nodeFunction({ ...options, env: options.env ?? {}, concurrency: 4 }),
  );
  await eventually(
    async () =>
      ((await client.get(SandboxDeployments, { namespace, name })).status?.readyReplicas ?? 0) ===
      replicas,
    { what: `${namespace}/${name} to be ready`, timeoutMs: 60_000 },
  );
}
