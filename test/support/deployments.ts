// A SandboxDeployment of a trivial inline Node function, for tests that care
// about where replicas run rather than what they do.
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { SandboxDeployments } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';

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
