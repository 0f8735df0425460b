// The whole of Roost for a benchmark, exactly as `roost dev` runs it (real
// control plane, controller, gateway, host pods with sidecars), in a
// temporary directory, with a client and the gateway URL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../kube/client.ts';
import { SandboxDeployments } from '../../kube/api/resources.ts';
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { freePort } from '../../lib/ports.ts';
import { startLocalRoost, type LocalRoost } from '../../cli/dev/local-roost.ts';

export interface BenchSystem {
  roost: LocalRoost;
  client: KubeClient;
  /** For more processes of one's own against the same cluster. */
  kubeconfigPath: string;
  gatewayUrl: string;
  token: string;
  stop(): Promise<void>;
}

export async function startBenchSystem(
  options: {
    hosts?: number;
    /** Host pods offer java too (a JVM bridge each). Default false. */ java?: boolean;
  } = {},
): Promise<BenchSystem> {
  const cwd = mkdtempSync(join(tmpdir(), 'roost-bench-'));
  const roost = await startLocalRoost({
    cwd,
    gatewayPort: await freePort(),
    hosts: options.hosts ?? 2,
    hostMemoryMiB: 4096,
    examples: false,
    java: options.java ? 'on' : 'off',
    progress: (line) => console.error(`  ${line}`),
  });
  const kubeconfigPath = join(cwd, roost.state.kubeconfig);
  const client = KubeClient.load(kubeconfigPath);
  return {
    roost,
    client,
    kubeconfigPath,
    gatewayUrl: roost.state.gateway.url,
    token: roost.state.token,
    async stop() {
      client.close();
      await roost.stop();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** Waits until the deployment has `replicas` available Sandboxes. */
export async function waitAvailable(
  client: KubeClient,
  namespace: string,
  name: string,
  replicas: number,
): Promise<SandboxDeployment> {
  for (;;) {
    const deployment = await client.get(SandboxDeployments, { namespace, name });
    if (
      (deployment.status?.availableReplicas ?? 0) >= replicas &&
      deployment.status?.observedGeneration === deployment.metadata.generation
    )
      return deployment;
    await new Promise((r) => setTimeout(r, 50));
  }
}
