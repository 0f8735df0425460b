// Everything `roost controller` runs under one leader election. To add a
// component (such as the autoscaler), write a Component (kube/component.ts)
// and list it here.
import type { Component } from '../kube/component.ts';
import { autoscalerComponent } from '../autoscaler/autoscaler.ts';
import { schedulerComponent } from '../scheduler/scheduler.ts';
import { cronTriggerController } from './crontrigger/controller.ts';
import { deploymentController } from './deployment/controller.ts';
import { endpointsController } from './endpoints/controller.ts';
import { hostLifecycleController } from './hostlifecycle/controller.ts';
import { replicaSetController } from './replicaset/controller.ts';
import { routeController } from './route/controller.ts';

export interface ComponentOptions {
  /** A host pod whose Lease has not been renewed for this long is lost (default 20 s). */
  hostGraceMs?: number;
  /** The invoke token, which gateways require before they report concurrency to the autoscaler. */
  invokeToken?: string;
  /** The durable event queue (NATS JetStream) that triggers send events to. */
  eventsUrl?: string;
}

export function defaultComponents(options: ComponentOptions = {}): Component[] {
  return [
    schedulerComponent({ staleAfterMs: options.hostGraceMs }),
    replicaSetController(),
    deploymentController(),
    endpointsController(),
    routeController({ token: options.invokeToken }),
    hostLifecycleController({ graceMs: options.hostGraceMs }),
    autoscalerComponent({ token: options.invokeToken }),
    // Triggers send events to the queue: without one, they wait.
    ...(options.eventsUrl
      ? [cronTriggerController({ eventsUrl: options.eventsUrl, eventsToken: options.invokeToken })]
      : []),
  ];
}
