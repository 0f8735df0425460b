// Wiring of the host lifecycle controller. Keys are host pod names, the way
// Sandboxes refer to their pod: a host pod or its Lease changing, or a
// Sandbox being bound, puts that name on the queue. Every Lease event is
// also a heartbeat observed now (heartbeats.ts), and a probe of the API
// server runs beside the workers so that silence heard while this process was
// itself cut off is not taken for a dead host (kube/api-contact.ts).
import type { Lease } from '../../kube/api/core.ts';
import { Leases, Pods, Sandboxes } from '../../kube/api/resources.ts';
import { ApiContact } from '../../kube/api-contact.ts';
import type { Component } from '../../kube/component.ts';
import { HOST_LABEL } from '../../kube/well-known.ts';
import { DEFAULT_HOST_STALE_AFTER_MS } from '../../scheduler/host.ts';
import { ControllerQueue } from '../shared/queue.ts';
import { Heartbeats } from './heartbeats.ts';
import { HostLifecycleReconciler, PODS_BY_NAME, SANDBOXES_BY_POD } from './reconciler.ts';

export function hostLifecycleController(options: { graceMs?: number } = {}): Component {
  return {
    name: 'hostlifecycle',
    setup(context) {
      const log = context.log.child({ component: 'host-lifecycle-controller' });
      const pods = context.informers.for(Pods, { labelSelector: `${HOST_LABEL}=true` });
      const leases = context.informers.for(Leases);
      const sandboxes = context.informers.for(Sandboxes);
      pods.store.addIndex(PODS_BY_NAME, (p) => [p.metadata.name ?? '']);
      sandboxes.store.addIndex(SANDBOXES_BY_POD, (s) => (s.spec.podName ? [s.spec.podName] : []));
      const heartbeats = new Heartbeats();
      const contact = new ApiContact();
      const queue = new ControllerQueue('hostlifecycle');
      const byName = (o: { metadata: { name?: string } }) => queue.add(o.metadata.name);
      pods.addHandlers({
        onUpdate: (_o, p) => byName(p),
        onDelete: (p) => {
          heartbeats.forget(p.metadata.name ?? '');
          byName(p);
        },
      });
      const onLease = (lease: Lease) => {
        const name = lease.metadata.name ?? '';
        if (pods.store.byIndex(PODS_BY_NAME, name).length === 0) return;
        heartbeats.observe(name, lease, Date.now());
        byName(lease);
      };
      leases.addHandlers({ onAdd: onLease, onUpdate: (_o, l) => onLease(l), onDelete: byName });
      sandboxes.addHandlers({
        onAdd: (s) => queue.add(s.spec.podName),
        onUpdate: (old, s) => {
          if (old.spec.podName !== s.spec.podName) queue.add(s.spec.podName);
        },
      });
      const reconciler = new HostLifecycleReconciler({
        client: context.client,
        recorder: context.recorder,
        pods: pods.store,
        leases: leases.store,
        sandboxes: sandboxes.store,
        heartbeats,
        contact,
        graceMs: options.graceMs ?? DEFAULT_HOST_STALE_AFTER_MS,
      });
      return {
        run: async () => {
          await Promise.all([
            contact.run(context.client, log, context.signal),
            queue.run({
              reconcile: (key) => reconciler.reconcile(key),
              workers: 2,
              log,
              signal: context.signal,
            }),
          ]);
        },
      };
    },
  };
}
