// Wiring of the SandboxRoute controller: a route is reconciled when it
// changes, and when what it resolves against changes: its deployment (a new
// revision for latestRevision or a canary), that deployment's ReplicaSets
// (revisions come and go) and endpoints (ready Sandboxes per revision).
import type { SandboxRoute } from '../../kube/api/roost.ts';
import {
  SandboxDeployments,
  SandboxEndpointsType,
  SandboxReplicaSets,
  SandboxRoutes,
} from '../../kube/api/resources.ts';
import { cacheKey } from '../../kube/client.ts';
import type { Component } from '../../kube/component.ts';
import { DEPLOYMENT_LABEL } from '../../kube/well-known.ts';
import { ConcurrencyCollector } from '../../autoscaler/collector.ts';
import { ControllerQueue } from '../shared/queue.ts';
import { BY_NAMESPACE, ROUTES_BY_DEPLOYMENT } from '../deployment/reconciler.ts';
import { RouteReconciler } from './reconciler.ts';
import { GatewayRevisionCounts } from './revision-counts.ts';

export function routeController(options: { workers?: number; token?: string } = {}): Component {
  return {
    name: 'route',
    setup(context) {
      const log = context.log.child({ component: 'route-controller' });
      const routes = context.informers.for(SandboxRoutes);
      const deployments = context.informers.for(SandboxDeployments);
      const replicaSets = context.informers.for(SandboxReplicaSets);
      const endpoints = context.informers.for(SandboxEndpointsType);
      const deploymentOf = (r: SandboxRoute) => `${r.metadata.namespace}/${r.spec.deployment}`;
      routes.store.addIndex(ROUTES_BY_DEPLOYMENT, (r) => [deploymentOf(r)]);
      replicaSets.store.addIndex(BY_NAMESPACE, (rs) => [rs.metadata.namespace ?? '']);
      const queue = new ControllerQueue('route');
      const enqueueRoutesOf = (deploymentKey: string | undefined) => {
        if (!deploymentKey) return;
        for (const r of routes.store.byIndex(ROUTES_BY_DEPLOYMENT, deploymentKey))
          queue.add(cacheKey(r));
      };

      routes.addHandlers({
        onAdd: (r) => queue.add(cacheKey(r)),
        onUpdate: (_old, r) => queue.add(cacheKey(r)),
        onDelete: (r) => queue.add(cacheKey(r)),
      });
      deployments.addHandlers({
        onAdd: (d) => enqueueRoutesOf(cacheKey(d)),
        onUpdate: (old, d) => {
          if (old.status?.revision !== d.status?.revision) enqueueRoutesOf(cacheKey(d));
        },
        onDelete: (d) => enqueueRoutesOf(cacheKey(d)),
      });
      const deploymentOfReplicaSet = (rs: {
        metadata: { namespace?: string; labels?: Record<string, string> };
      }) => {
        const name = rs.metadata.labels?.[DEPLOYMENT_LABEL];
        return name ? `${rs.metadata.namespace}/${name}` : undefined;
      };
      replicaSets.addHandlers({
        onAdd: (rs) => enqueueRoutesOf(deploymentOfReplicaSet(rs)),
        onUpdate: (_old, rs) => enqueueRoutesOf(deploymentOfReplicaSet(rs)),
        onDelete: (rs) => enqueueRoutesOf(deploymentOfReplicaSet(rs)),
      });
      endpoints.addHandlers({
        onAdd: (e) => enqueueRoutesOf(cacheKey(e)),
        onUpdate: (_old, e) => enqueueRoutesOf(cacheKey(e)),
      });

      const reconciler = new RouteReconciler({
        client: context.client,
        recorder: context.recorder,
        routes: routes.store,
        deployments: deployments.store,
        replicaSets: replicaSets.store,
        endpoints: endpoints.store,
        counts: new GatewayRevisionCounts(
          new ConcurrencyCollector({ informers: context.informers, log, token: options.token }),
        ),
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
