// The SandboxEndpoints of a SandboxDeployment: where its Sandboxes can be
// reached. Ready ones take new requests; terminating ones that still have an
// address are listed with ready=false, terminating=true so that the gateway
// lets their in-flight requests finish but sends nothing new (as
// EndpointSlice's serving/terminating conditions).
import type {
  Endpoint,
  Sandbox,
  SandboxDeployment,
  SandboxEndpoints,
} from '../../../kube/api/roost.ts';
import { SandboxDeployments } from '../../../kube/api/resources.ts';
import { findCondition } from '../../../kube/conditions.ts';
import { TEMPLATE_HASH_LABEL } from '../../../kube/well-known.ts';
import { ownerReference } from '../../shared/owners.ts';
import { isReady, isTerminating } from '../../shared/sandbox-state.ts';
import { endpointsName } from '../../deployment/names.ts';

export type EndpointsStatus = NonNullable<SandboxEndpoints['status']>;

/** How many addresses the summary shows before "+ N more...", as kubectl does. */
const SUMMARY_ADDRESSES = 3;

export function makeEndpoints(deployment: SandboxDeployment): SandboxEndpoints {
  return {
    metadata: {
      name: endpointsName(deployment),
      namespace: deployment.metadata.namespace,
      labels: { ...deployment.metadata.labels },
      ownerReferences: [ownerReference(deployment, SandboxDeployments)],
    },
  };
}

/** The revision number of a Sandbox's ReplicaSet, if known. */
export type RevisionNumberOf = (sandbox: Sandbox) => number | undefined;

function endpointOf(sandbox: Sandbox, revisionNumberOf: RevisionNumberOf): Endpoint | undefined {
  const address = sandbox.status?.address;
  const podName = sandbox.spec.podName;
  if (!address || !podName) return undefined;
  const revision = sandbox.metadata.labels?.[TEMPLATE_HASH_LABEL];
  const revisionNumber = revisionNumberOf(sandbox);
  const base = {
    sandbox: sandbox.metadata.name!,
    address,
    podName,
    ...(revision ? { revision } : {}),
    ...(revisionNumber ? { revisionNumber } : {}),
  };
  if (isReady(sandbox)) return { ...base, ready: true };
  // A terminating Sandbox that was serving is still finishing its requests.
  const wasReady = findCondition(sandbox.status?.conditions, 'Ready')?.status === 'True';
  if (isTerminating(sandbox) && (wasReady || sandbox.status?.phase === 'Terminating'))
    return { ...base, ready: false, terminating: true };
  return undefined;
}

export function computeEndpointsStatus(
  sandboxes: Sandbox[],
  revisionNumberOf: RevisionNumberOf = () => undefined,
): EndpointsStatus {
  const endpoints = sandboxes
    .map((s) => endpointOf(s, revisionNumberOf))
    .filter((e): e is Endpoint => !!e)
    .sort((a, b) => a.sandbox.localeCompare(b.sandbox));
  const ready = endpoints.filter((e) => e.ready);
  const shown = ready.slice(0, SUMMARY_ADDRESSES).map((e) => e.address);
  const more = ready.length - shown.length;
  return {
    endpoints,
    readyCount: ready.length,
    summary:
      ready.length === 0 ? '<none>' : shown.join(',') + (more > 0 ? ` + ${more} more...` : ''),
  };
}
