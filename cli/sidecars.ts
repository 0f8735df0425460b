// Which sidecars hold a function's logs and stats, and how to ask them. A
// Sandbox's status.address is its sidecar. Logs outlive their Sandbox (the
// sidecar keeps them after a scale-down or to zero), so for logs every host
// pod the kubeconfig may list is asked as well; those extra sidecars are
// allowed to fail quietly, the Sandboxes' own are not.
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Pod } from '../kube/api/core.ts';
import type { Sandbox, SandboxDeployment } from '../kube/api/roost.ts';
import { Pods, SandboxDeployments, Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import { DEPLOYMENT_LABEL, HOST_LABEL } from '../kube/well-known.ts';
import { sidecarAddress } from '../scheduler/host.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import { errorMessage } from '../lib/errors.ts';
import { CliError, ExitCode, notFoundError } from './errors.ts';
import { SYSTEM_NAMESPACE, type SidecarRoute } from './context.ts';

export interface SidecarTarget {
  /** host:port the CLI dials for its gRPC server (a port-forward through the API server, in a cluster). */
  address: string;
  /** The host pod and its namespace. */
  pod: string;
  namespace: string;
  /** A Sandbox of the function is there now: a failure to reach it is worth saying. */
  hostsSandbox: boolean;
}

/** The SandboxDeployment, or a not-found error that says how to list them. */
export async function requireDeployment(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<SandboxDeployment> {
  try {
    return await client.get(SandboxDeployments, { namespace, name });
  } catch (err) {
    if (isNotFound(err))
      throw notFoundError(
        `No function ${namespace}/${name}: there is no SandboxDeployment of that name; \`roost get deployments -n ${namespace}\` lists them`,
      );
    throw err;
  }
}

export async function sandboxesOf(
  client: KubeClient,
  namespace: string,
  deployment: string,
): Promise<Sandbox[]> {
  const list = await client.list(Sandboxes, {
    namespace,
    labelSelector: `${DEPLOYMENT_LABEL}=${deployment}`,
  });
  return list.items;
}

/**
 * The sidecars of the function's Sandboxes, and with `allHosts` of every host
 * pod that can be listed; with `route`, dialled the way it says.
 */
export async function sidecarTargets(
  client: KubeClient,
  sandboxes: Sandbox[],
  options: { allHosts: boolean; route?: SidecarRoute },
): Promise<SidecarTarget[]> {
  const hosts = options.allHosts || options.route ? await listHostPods(client) : [];
  const namespaceOf = (pod: string) =>
    hosts.find((h) => h.metadata.name === pod)?.metadata.namespace ?? SYSTEM_NAMESPACE;
  const targets = new Map<string, SidecarTarget>();
  for (const sandbox of sandboxes) {
    const address = sandbox.status?.address;
    const pod = sandbox.spec.podName ?? sandbox.status?.podName ?? '?';
    if (address)
      targets.set(address, { address, pod, namespace: namespaceOf(pod), hostsSandbox: true });
  }
  if (options.allHosts) {
    for (const host of hosts) {
      const address = sidecarAddress(host);
      if (address && !targets.has(address))
        targets.set(address, {
          address,
          pod: host.metadata.name!,
          namespace: host.metadata.namespace!,
          hostsSandbox: false,
        });
    }
  }
  const route = options.route;
  if (!route) return [...targets.values()];
  return Promise.all(
    [...targets.values()].map(async (target) => ({ ...target, address: await route(target) })),
  );
}

/** Host pods in every namespace; none if the credentials may not list them. */
export async function listHostPods(client: KubeClient): Promise<Pod[]> {
  try {
    return (await client.list(Pods, { labelSelector: `${HOST_LABEL}=true` })).items;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) return [];
    throw err;
  }
}

/** One connection per target; close them all with closeAll. */
export function connect(
  targets: SidecarTarget[],
  token: string,
): Map<SidecarTarget, SandboxHostConnection> {
  return new Map(targets.map((t) => [t, new SandboxHostConnection(t.address, token)]));
}

export function closeAll(connections: Map<SidecarTarget, SandboxHostConnection>): void {
  for (const connection of connections.values()) connection.close();
}

/** A sidecar's refusal as a CliError with the right exit code and advice. */
export function sidecarError(target: SidecarTarget, err: unknown): CliError {
  const code = (err as ServiceError).code;
  const what = `the sidecar of host pod ${target.pod} at ${target.address}`;
  if (code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED)
    return new CliError(
      'ROOST_TOKEN_REFUSED',
      ExitCode.failure,
      `${what} refused the invoke token; pass the one the sidecars use with --token-file or ROOST_INVOKE_TOKEN`,
      { cause: err },
    );
  if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED)
    return new CliError(
      'ROOST_UNREACHABLE',
      ExitCode.unreachable,
      `Cannot reach ${what}: ${(err as ServiceError).details ?? errorMessage(err)}`,
      {
        cause: err,
      },
    );
  return new CliError(
    'ROOST_SIDECAR_ERROR',
    ExitCode.failure,
    `${what} failed: ${errorMessage(err)}`,
    {
      cause: err,
    },
  );
}
