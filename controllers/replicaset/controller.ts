// Wiring of the SandboxReplicaSet controller: which events enqueue which
// ReplicaSet, and how Sandbox events settle expectations.
import type { Sandbox, SandboxReplicaSet } from '../../kube/api/roost.ts';
import { SandboxReplicaSets, Sandboxes } from '../../kube/api/resources.ts';
import { cacheKey } from '../../kube/client.ts';
import type { Component } from '../../kube/component.ts';
import { Expectations } from '../../kube/expectations.ts';
import { matchesSelector } from '../../kube/labels.ts';
import { ControllerQueue } from '../shared/queue.ts';
import { controllerRefOf } from '../shared/owners.ts';
import { ReplicaSetReconciler, SANDBOXES_BY_NAMESPACE } from './reconciler.ts';

export function replicaSetController(options: { workers?: number } = {}): Component {
  return {
    name: 'replicaset',
    setup(context) {
      const log = context.log.child({ component: 'replicaset-controller' });
      const replicaSets = context.informers.for(SandboxReplicaSets);
      const sandboxes = context.informers.for(Sandboxes);
      sandboxes.store.addIndex(SANDBOXES_BY_NAMESPACE, (s) => [s.metadata.namespace ?? '']);
      const expectations = new Expectations();
      const queue = new ControllerQueue('replicaset');

      const ownerKey = (sandbox: Sandbox): string | undefined => {
        const ref = controllerRefOf(sandbox);
        if (ref?.kind !== 'SandboxReplicaSet') return undefined;
        const key = `${sandbox.metadata.namespace}/${ref.name}`;
        // A ReplicaSet of that name but another uid is not the owner.
        return replicaSets.store.get(key)?.metadata.uid === ref.uid ? key : undefined;
      };
      /** Orphans wake every ReplicaSet that could adopt them. */
      const enqueueOwners = (sandbox: Sandbox) => {
        const key = ownerKey(sandbox);
        if (key) return queue.add(key);
        if (controllerRefOf(sandbox)) return;
        for (const rs of replicaSets.store.list())
          if (
            rs.metadata.namespace === sandbox.metadata.namespace &&
            matchesSelector(rs.spec.selector, sandbox.metadata.labels)
          )
            queue.add(cacheKey(rs));
      };

      sandboxes.addHandlers({
        onAdd: (sandbox) => {
          const key = ownerKey(sandbox);
          if (key) expectations.creationObserved(key);
          enqueueOwners(sandbox);
        },
        onUpdate: (old, sandbox) => {
          const key = ownerKey(sandbox);
          // A delete shows first as a deletionTimestamp: that is when a
          // ReplicaSet may count the replica gone and replace it.
          if (key && !old.metadata.deletionTimestamp && sandbox.metadata.deletionTimestamp)
            expectations.deletionObserved(key, sandbox.metadata.uid!);
          const oldKey = ownerKey(old);
          if (oldKey && oldKey !== key) queue.add(oldKey);
          enqueueOwners(sandbox);
        },
        onDelete: (sandbox) => {
          const key = ownerKey(sandbox);
          if (key) expectations.deletionObserved(key, sandbox.metadata.uid!);
          enqueueOwners(sandbox);
        },
      });
      const enqueue = (rs: SandboxReplicaSet) => queue.add(cacheKey(rs));
      replicaSets.addHandlers({
        onAdd: enqueue,
        onUpdate: (_old, rs) => enqueue(rs),
        onDelete: (rs) => {
          expectations.delete(cacheKey(rs));
        },
      });

      const reconciler = new ReplicaSetReconciler({
        client: context.client,
        recorder: context.recorder,
        expectations,
        replicaSets: replicaSets.store,
        sandboxes: sandboxes.store,
      });
      return {
        run: () =>
          queue.run({
            reconcile: (key) => reconciler.reconcile(key),
            workers: options.workers ?? 4,
            log,
            signal: context.signal,
          }),
      };
    },
  };
}
