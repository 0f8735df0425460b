// Wiring of the CronTrigger controller: a trigger is reconciled when it
// changes, when its time comes (requeueAfter), when an outcome of one of its
// runs is announced, and when its target function comes or goes. It sends
// its events to the durable queue, so it runs only where roost controller
// was given the queue (--events-url).
import type { CronTrigger, SandboxDeployment } from '../../kube/api/roost.ts';
import { CronTriggers, SandboxDeployments } from '../../kube/api/resources.ts';
import { cacheKey } from '../../kube/client.ts';
import type { Component } from '../../kube/component.ts';
import { EventQueue } from '../../events/queue.ts';
import { ControllerQueue } from '../shared/queue.ts';
import { triggerOfSource } from './names.ts';
import { CronTriggerReconciler } from './reconciler.ts';

export const TRIGGERS_BY_TARGET = 'target';

export function cronTriggerController(options: {
  eventsUrl: string;
  /** The broker's token: the invoke token. */
  eventsToken?: string;
  workers?: number;
}): Component {
  return {
    name: 'crontrigger',
    setup(context) {
      const log = context.log.child({ component: 'crontrigger-controller' });
      const triggers = context.informers.for(CronTriggers);
      const deployments = context.informers.for(SandboxDeployments);
      triggers.store.addIndex(TRIGGERS_BY_TARGET, (t: CronTrigger) => [
        `${t.metadata.namespace}/${t.spec.target.name}`,
      ]);
      const queue = new ControllerQueue('crontrigger');
      triggers.addHandlers({
        onAdd: (t) => queue.add(cacheKey(t)),
        onUpdate: (old, t) => {
          // Our own status writes come back here; only spec changes need a pass.
          if (old.metadata.generation !== t.metadata.generation) queue.add(cacheKey(t));
        },
      });
      const targetChanged = (d: SandboxDeployment) => {
        for (const t of triggers.store.byIndex(TRIGGERS_BY_TARGET, cacheKey(d)))
          queue.add(cacheKey(t));
      };
      deployments.addHandlers({ onAdd: targetChanged, onDelete: targetChanged });
      return {
        async run() {
          const events = await EventQueue.connect({
            url: options.eventsUrl,
            name: 'roost-controller crontrigger',
            token: options.eventsToken,
            waitOnFirstConnect: true,
          });
          const reconciler = new CronTriggerReconciler({
            client: context.client,
            recorder: context.recorder,
            queue: events,
            deployments: deployments.store,
          });
          const stopFollowing = events.followOutcomes((outcome) => {
            const name = triggerOfSource(outcome.source);
            if (!name) return;
            const key = `${outcome.namespace}/${name}`;
            reconciler.noteOutcome(key, outcome);
            queue.add(key);
          });
          try {
            await queue.run({
              reconcile: (key) => reconciler.reconcile(key),
              workers: options.workers ?? 2,
              log,
              signal: context.signal,
            });
          } finally {
            stopFollowing();
            await events.close();
          }
        },
      };
    },
  };
}
