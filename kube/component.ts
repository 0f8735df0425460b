// A part of the `roost controller` process (the scheduler, each controller,
// later the autoscaler). Everything that acts runs only while the process
// leads, so a component is built afresh for each leadership term: setup()
// wires its informers and handlers, and run() works until the signal aborts.
import type { KubeClient } from './client.ts';
import type { EventRecorder } from './events.ts';
import type { SharedInformers } from './shared-informers.ts';
import type { Logger } from '../lib/log.ts';

export interface ComponentContext {
  client: KubeClient;
  informers: SharedInformers;
  recorder: EventRecorder;
  log: Logger;
  /** Aborts when leadership is lost or the process stops. */
  signal: AbortSignal;
}

export interface RunningComponent {
  /** Works until the context's signal aborts; called after the informers have synced. */
  run(): Promise<void>;
}

export interface Component {
  name: string;
  setup(context: ComponentContext): RunningComponent;
}
