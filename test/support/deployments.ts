// A SandboxDeployment of a trivial inline Node function, for tests that care
// about where replicas run rather than what they do.
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { SandboxDeployments } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { eventually } from './cluster.ts';

export async function createTrivialDeployment(
  client: KubeClient,
  options: { namespace: string; name: string; replicas: number },
): Promise<SandboxDeployment> {
  return client.create(SandboxDeployments, {
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      replicas: options.replicas,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 128,
            code: {
              inline: { files: { 'index.mjs': "export const handler = async () => 'ok';" } },
            },
          },
        },
      },
    },
  } as SandboxDeployment);
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
  await client.create(SandboxDeployments, {
    metadata: { name, namespace },
    spec: {
      replicas,
      ...options.spec,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 64,
            concurrency: 4,
            env: Object.entries(options.env ?? {}).map(([key, value]) => ({ name: key, value })),
            code: { inline: { files: { 'index.mjs': options.source } } },
          },
        },
      },
    },
  });
  await eventually(
    async () =>
      ((await client.get(SandboxDeployments, { namespace, name })).status?.readyReplicas ?? 0) ===
      replicas,
    { what: `${namespace}/${name} to be ready`, timeoutMs: 60_000 },
  );
}
