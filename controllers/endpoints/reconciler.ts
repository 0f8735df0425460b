// Reconciles the SandboxEndpoints of one SandboxDeployment: make sure it
// exists (owned by the deployment, so it goes with it), then list the
// deployment's reachable Sandboxes in its status when that list changed.
import type {
  Sandbox,
  SandboxDeployment,
  SandboxEndpoints,
  SandboxReplicaSet,
} from '../../kube/api/roost.ts';
import { SandboxEndpointsType } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isAlreadyExists, isNotFound } from '../../kube/errors.ts';
import type { Store } from '../../kube/informer.ts';
import { sameStatus } from '../shared/status.ts';
import { endpointsName } from '../deployment/names.ts';
import { revisionOf } from '../deployment/resources/replicaset.ts';
import { controllerRefOf } from '../shared/owners.ts';
import { computeEndpointsStatus, makeEndpoints } from './resources/endpoints.ts';

export const SANDBOXES_BY_DEPLOYMENT = 'deployment';

export interface EndpointsReconcilerOptions {
  client: KubeClient;
  deployments: Store<SandboxDeployment>;
  endpoints: Store<SandboxEndpoints>;
  /** With index SANDBOXES_BY_DEPLOYMENT ("namespace/deployment"). */
  sandboxes: Store<Sandbox>;
  /** To name each endpoint's revision number, which routes and x-roost-revision speak in. */
  replicaSets: Store<SandboxReplicaSet>;
}

export class EndpointsReconciler {
  readonly #options: EndpointsReconcilerOptions;

  constructor(options: EndpointsReconcilerOptions) {
    this.#options = options;
  }

  async reconcile(key: string): Promise<void> {
    const deployment = this.#options.deployments.get(key);
    // Gone: the garbage collector removes the SandboxEndpoints it owned.
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const current = await this.#ensure(deployment);
    const status = computeEndpointsStatus(
      this.#options.sandboxes.byIndex(SANDBOXES_BY_DEPLOYMENT, key),
      (sandbox) => {
        const owner = controllerRefOf(sandbox);
        const rs =
          owner && this.#options.replicaSets.get(`${sandbox.metadata.namespace}/${owner.name}`);
        return rs ? revisionOf(rs) || undefined : undefined;
      },
    );
    if (sameStatus(current.status ?? {}, status)) return;
    await this.#options.client.patch(
      SandboxEndpointsType,
      { namespace: deployment.metadata.namespace, name: endpointsName(deployment) },
      { status },
      { subresource: 'status' },
    );
  }

  async #ensure(deployment: SandboxDeployment): Promise<SandboxEndpoints> {
    const { client } = this.#options;
    const key = `${deployment.metadata.namespace}/${endpointsName(deployment)}`;
    const cached = this.#options.endpoints.get(key);
    if (cached) return cached;
    try {
      return await client.create(SandboxEndpointsType, makeEndpoints(deployment));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      try {
        return await client.get(SandboxEndpointsType, {
          namespace: deployment.metadata.namespace,
          name: endpointsName(deployment),
        });
      } catch (getErr) {
        if (isNotFound(getErr)) throw err;
        throw getErr;
      }
    }
  }
}
