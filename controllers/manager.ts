// Runs the components of `roost controller` (the scheduler, the controllers,
// later the autoscaler) only while this process holds the leader Lease. Each
// term gets fresh informers and queues: a process that lost the Lease and
// wins it back starts from a clean cache rather than from whatever it saw
// before, and nothing from the old term can act in the new one.
import type { KubeClient } from '../kube/client.ts';
import type { Component, ComponentContext } from '../kube/component.ts';
import { EventRecorder } from '../kube/events.ts';
import { electorFor, type LeaseSettings } from '../kube/leader-election.ts';
import { SharedInformers } from '../kube/shared-informers.ts';
import { errorMessage, RoostError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export interface ManagerOptions {
  client: KubeClient;
  components: Component[];
  log: Logger;
  /** Act in this namespace only (host pods included); every namespace by default. */
  namespace?: string;
  /** Called each time this process starts acting as leader, caches synced. */
  onActing?: () => void;
  lease: LeaseSettings;
}

export class ComponentFailedError extends RoostError {
  readonly component: string;

  constructor(component: string, cause: unknown) {
    super(
      'ROOST_COMPONENT_FAILED',
      `Component ${component} failed while leading: ${errorMessage(cause)}`,
      { cause },
    );
    this.component = component;
  }
}

/** Runs every component for as long as `signal` allows and leadership lasts. */
export async function runComponents(
  options: Pick<ManagerOptions, 'client' | 'components' | 'log' | 'namespace' | 'onActing'>,
  signal: AbortSignal,
): Promise<void> {
  const { log } = options;
  // The components' own end: the term's, or the first of them failing.
  const work = new AbortController();
  const endWork = () => work.abort(signal.reason);
  signal.addEventListener('abort', endWork, { once: true });
  // Every call a component makes is bound to it: once it ends, nothing in
  // flight is still waiting to land, and nothing new is sent.
  const client = options.client.withSignal(work.signal);
  const informers = new SharedInformers(client, log, { namespace: options.namespace });
  const recorder = new EventRecorder({ client, component: 'roost-controller', log });
  const context: ComponentContext = { client, informers, recorder, log, signal: work.signal };
  const running = options.components.map((component) => ({
    component,
    running: component.setup(context),
  }));
  await Promise.race([
    informers.start(),
    new Promise((resolve) => work.signal.addEventListener('abort', resolve, { once: true })),
  ]);
  if (!work.signal.aborted) {
    log.info({ components: options.components.map((c) => c.name) }, 'caches synced; acting');
    options.onActing?.();
  }
  // A component that fails, or stops while the term lasts, fails the term:
  // the rest must not go on leading with a part of the controller dead.
  let failure: ComponentFailedError | undefined;
  try {
    await Promise.all(
      running.map(async ({ component, running }) => {
        if (work.signal.aborted) return;
        let cause: unknown = 'it stopped';
        try {
          await running.run();
        } catch (err) {
          cause = err;
        }
        if (work.signal.aborted) return;
        log.error({ component: component.name, err: errorMessage(cause) }, 'component failed');
        failure ??= new ComponentFailedError(component.name, cause);
        work.abort(failure);
      }),
    );
  } finally {
    signal.removeEventListener('abort', endWork);
    await informers.stop();
    await recorder.flush();
  }
  if (failure) throw failure;
}

/**
 * Campaigns for the Lease and runs the components in each term won, until
 * `signal` aborts. Rejects (LeaderWorkFailedError) when a component fails: the
 * term has ended and the Lease is handed back; the process should exit so
 * that whatever runs it (the kubelet, roost dev) restarts it.
 */
export async function runManager(options: ManagerOptions, signal: AbortSignal): Promise<void> {
  const elector = electorFor(options.lease, {
    client: options.client,
    log: options.log,
    onStartedLeading: (term) => runComponents(options, term),
  });
  options.log.info(
    { identity: elector.identity, lease: `${options.lease.namespace}/${options.lease.name}` },
    'campaigning for leadership',
  );
  await elector.run(signal);
}
