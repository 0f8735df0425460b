// Wiring of the SandboxDeployment controller: a deployment is reconciled when
// it changes, when one of its ReplicaSets changes (status moves a rollout
// along), when a Sandbox of an old revision goes (Recreate waits for it), and
// when a SandboxRoute naming it changes (routed revisions keep their share).
import type { SandboxDeployment, SandboxReplicaSet } from '../../kube/api/roost.ts';
import {
  SandboxDeployments,
  SandboxReplicaSets,
  SandboxRoutes,
  Sandboxes,
} from '../../kube/api/resources.ts';
import { cacheKey } from '../../kube/client.ts';
import type { Component } from '../../kube/component.ts';
import { DEPLOYMENT_LABEL } from '../../kube/well-known.ts';
import { controllerRefOf } from '../shared/owners.ts';
import { ControllerQueue } from '../shared/queue.ts';
import { BY_NAMESPACE, DeploymentReconciler, ROUTES_BY_DEPLOYMENT } from './reconciler.ts';

export function deploymentController(options: { workers?: number } = {}): Component {
  return {
    name: 'deployment',
    setup(context) {
      const log = context.log.child({ component: 'deployment-controller' });
      const deployments = context.informers.for(SandboxDeployments);
      const replicaSets = context.informers.for(SandboxReplicaSets);
      const sandboxes = context.informers.for(Sandboxes);
      const routes = context.informers.for(SandboxRoutes);
      const byNamespace = (o: { metadata: { namespace?: string } }) => [o.metadata.namespace ?? ''];
      replicaSets.store.addIndex(BY_NAMESPACE, byNamespace);
      sandboxes.store.addIndex(BY_NAMESPACE, byNamespace);
      const routedDeployment = (r: {
        metadata: { namespace?: string };
        spec: { deployment: string };
      }) => `${r.metadata.namespace}/${r.spec.deployment}`;
      routes.store.addIndex(ROUTES_BY_DEPLOYMENT, (r) => [routedDeployment(r)]);
      const queue = new ControllerQueue('deployment');
      // A route that names other revisions, or other shares, changes what each revision keeps.
      routes.addHandlers({
        onAdd: (r) => queue.add(routedDeployment(r)),
        onUpdate: (_old, r) => queue.add(routedDeployment(r)),
        onDelete: (r) => queue.add(routedDeployment(r)),
      });

      const enqueueDeployment = (d: SandboxDeployment) => queue.add(cacheKey(d));
      deployments.addHandlers({
        onAdd: enqueueDeployment,
        onUpdate: (_o, d) => enqueueDeployment(d),
      });
      const ownerOf = (rs: SandboxReplicaSet) => {
        const ref = controllerRefOf(rs);
        if (ref?.kind === 'SandboxDeployment') return `${rs.metadata.namespace}/${ref.name}`;
        // An orphan may be adopted by the deployment its labels name.
        const name = rs.metadata.labels?.[DEPLOYMENT_LABEL];
        return name && !ref ? `${rs.metadata.namespace}/${name}` : undefined;
      };
      replicaSets.addHandlers({
        onAdd: (rs) => queue.add(ownerOf(rs)),
        onUpdate: (_old, rs) => queue.add(ownerOf(rs)),
        onDelete: (rs) => queue.add(ownerOf(rs)),
      });
      // Recreate waits for old Sandboxes to be gone entirely.
      sandboxes.addHandlers({
        onDelete: (s) => {
          const name = s.metadata.labels?.[DEPLOYMENT_LABEL];
          if (name) queue.add(`${s.metadata.namespace}/${name}`);
        },
      });

      const reconciler = new DeploymentReconciler({
        client: context.client,
        recorder: context.recorder,
        deployments: deployments.store,
        replicaSets: replicaSets.store,
        sandboxes: sandboxes.store,
        routes: routes.store,
      });
      return {
        run: () =>
          queue.run({
            reconcile: (key) => reconciler.reconcile(key),
            workers: options.workers ?? 2,
            log,
            signal: context.signal,
          }),
      };
    },
  };
}
