// Wiring of the SandboxEndpoints controller: the endpoints of a deployment are
// recomputed when any of its Sandboxes (by the roost.dev/deployment label)
// changes, and when the deployment or its endpoints object changes.
import type { Sandbox } from '../../kube/api/roost.ts';
import {
  SandboxDeployments,
  SandboxEndpointsType,
  SandboxReplicaSets,
  Sandboxes,
} from '../../kube/api/resources.ts';
import { cacheKey } from '../../kube/client.ts';
import type { Component } from '../../kube/component.ts';
import { DEPLOYMENT_LABEL, REVISION_ANNOTATION } from '../../kube/well-known.ts';
import { ControllerQueue } from '../shared/queue.ts';
import { EndpointsReconciler, SANDBOXES_BY_DEPLOYMENT } from './reconciler.ts';

function deploymentKey(sandbox: Sandbox): string | undefined {
  const name = sandbox.metadata.labels?.[DEPLOYMENT_LABEL];
  return name ? `${sandbox.metadata.namespace}/${name}` : undefined;
}

export function endpointsController(options: { workers?: number } = {}): Component {
  return {
    name: 'endpoints',
    setup(context) {
      const log = context.log.child({ component: 'endpoints-controller' });
      const deployments = context.informers.for(SandboxDeployments);
      const endpoints = context.informers.for(SandboxEndpointsType);
      const sandboxes = context.informers.for(Sandboxes);
      const replicaSets = context.informers.for(SandboxReplicaSets);
      sandboxes.store.addIndex(SANDBOXES_BY_DEPLOYMENT, (s) => {
        const key = deploymentKey(s);
        return key ? [key] : [];
      });
      const queue = new ControllerQueue('endpoints');
      sandboxes.addHandlers({
        onAdd: (s) => queue.add(deploymentKey(s)),
        onUpdate: (old, s) => {
          queue.add(deploymentKey(s));
          if (deploymentKey(old) !== deploymentKey(s)) queue.add(deploymentKey(old));
        },
        onDelete: (s) => queue.add(deploymentKey(s)),
      });
      deployments.addHandlers({ onAdd: (d) => queue.add(cacheKey(d)) });
      // A rollback renumbers a reused revision: its endpoints say the new number.
      replicaSets.addHandlers({
        onUpdate: (old, rs) => {
          const name = rs.metadata.labels?.[DEPLOYMENT_LABEL];
          if (
            name &&
            old.metadata.annotations?.[REVISION_ANNOTATION] !==
              rs.metadata.annotations?.[REVISION_ANNOTATION]
          )
            queue.add(`${rs.metadata.namespace}/${name}`);
        },
        onAdd: (rs) => {
          const name = rs.metadata.labels?.[DEPLOYMENT_LABEL];
          if (name) queue.add(`${rs.metadata.namespace}/${name}`);
        },
      });
      // Someone edited or deleted the endpoints: put them right.
      endpoints.addHandlers({
        onUpdate: (_old, e) => queue.add(cacheKey(e)),
        onDelete: (e) => queue.add(cacheKey(e)),
      });
      const reconciler = new EndpointsReconciler({
        client: context.client,
        deployments: deployments.store,
        endpoints: endpoints.store,
        sandboxes: sandboxes.store,
        replicaSets: replicaSets.store,
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
