// Where each kind lives in the API, so that the client can build its paths.
import type {
  ConfigMap,
  CustomResourceDefinition,
  Event,
  Lease,
  Namespace,
  Pod,
  Secret,
} from './core.ts';
import type { KubeObject } from './meta.ts';
import type {
  CronTrigger,
  QueueTrigger,
  Sandbox,
  SandboxDeployment,
  SandboxEndpoints,
  SandboxReplicaSet,
  SandboxRoute,
} from './roost.ts';

export const ROOST_GROUP = 'roost.dev';
export const ROOST_VERSION = 'v1alpha1';
export const ROOST_API_VERSION = `${ROOST_GROUP}/${ROOST_VERSION}`;

/** A kind of object the client can read and write; T is its TypeScript type. */
export interface ResourceType<T extends KubeObject> {
  /** "" for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Only carries the type; never set. */
  readonly _type?: T;
}

function resource<T extends KubeObject>(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced = true,
): ResourceType<T> {
  return { group, version, kind, plural, namespaced };
}

export function apiVersionOf(type: ResourceType<KubeObject>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export const Sandboxes = resource<Sandbox>(ROOST_GROUP, ROOST_VERSION, 'Sandbox', 'sandboxes');
export const SandboxReplicaSets = resource<SandboxReplicaSet>(
  ROOST_GROUP,
  ROOST_VERSION,
  'SandboxReplicaSet',
  'sandboxreplicasets',
);
export const SandboxDeployments = resource<SandboxDeployment>(
  ROOST_GROUP,
  ROOST_VERSION,
  'SandboxDeployment',
  'sandboxdeployments',
);
export const SandboxEndpointsType = resource<SandboxEndpoints>(
  ROOST_GROUP,
  ROOST_VERSION,
  'SandboxEndpoints',
  'sandboxendpoints',
);
export const SandboxRoutes = resource<SandboxRoute>(
  ROOST_GROUP,
  ROOST_VERSION,
  'SandboxRoute',
  'sandboxroutes',
);

export const CronTriggers = resource<CronTrigger>(
  ROOST_GROUP,
  ROOST_VERSION,
  'CronTrigger',
  'crontriggers',
);
export const QueueTriggers = resource<QueueTrigger>(
  ROOST_GROUP,
  ROOST_VERSION,
  'QueueTrigger',
  'queuetriggers',
);
export const Pods = resource<Pod>('', 'v1', 'Pod', 'pods');
export const ConfigMaps = resource<ConfigMap>('', 'v1', 'ConfigMap', 'configmaps');
export const Secrets = resource<Secret>('', 'v1', 'Secret', 'secrets');
export const Events = resource<Event>('', 'v1', 'Event', 'events');
export const Namespaces = resource<Namespace>('', 'v1', 'Namespace', 'namespaces', false);
export const Leases = resource<Lease>('coordination.k8s.io', 'v1', 'Lease', 'leases');
export const CustomResourceDefinitions = resource<CustomResourceDefinition>(
  'apiextensions.k8s.io',
  'v1',
  'CustomResourceDefinition',
  'customresourcedefinitions',
  false,
);
