// Events for `kubectl describe`: core/v1 Events on the involved object. An
// event repeated within ten minutes bumps the count of the first instead of
// creating another, as client-go's recorder does. Recording never fails the
// caller: an event is a note, not part of the reconcile.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeObject } from './api/meta.ts';
import { Events } from './api/resources.ts';
import type { KubeClient } from './client.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { Semaphore } from '../lib/semaphore.ts';

const AGGREGATE_WINDOW_MS = 10 * 60 * 1000;

export interface EventRecorderOptions {
  client: KubeClient;
  /** Such as roost-controller or roost-sidecar. */
  component: string;
  log: Logger;
  host?: string;
  /**
   * Most event writes in flight at once (default 8). Events are notes: a
   * burst of them (one per binding in a scheduling burst) must trickle out
   * behind the writes that do the work, not queue in front of them.
   */
  maxInFlight?: number;
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  at: number;
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #host: string;
  readonly #log: Logger;
  readonly #recent = new Map<string, Recorded>();
  readonly #pending = new Set<Promise<void>>();
  readonly #slots: Semaphore;

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#component = options.component;
    this.#host = options.host ?? hostname();
    this.#log = options.log;
    this.#slots = new Semaphore(options.maxInFlight ?? 8);
  }

  normal(object: KubeObject, reason: string, message: string): void {
    this.#record(object, 'Normal', reason, message);
  }

  warning(object: KubeObject, reason: string, message: string): void {
    this.#record(object, 'Warning', reason, message);
  }

  /** Resolves when every event recorded so far has been written (for tests and shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.#pending);
  }

  #record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const write = this.#slots
      .acquire()
      .then(() => this.#write(object, type, reason, message))
      .finally(() => this.#slots.release())
      .catch((err: unknown) => {
        this.#log.debug({ err: errorMessage(err), reason }, 'cannot record event');
      });
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  async #write(
    object: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = object.metadata.namespace ?? 'default';
    const now = new Date();
    const key = `${object.metadata.uid}|${type}|${reason}|${message}`;
    const previous = this.#recent.get(key);
    if (previous && now.getTime() - previous.at < AGGREGATE_WINDOW_MS) {
      previous.count++;
      previous.at = now.getTime();
      await this.#client.patch(
        Events,
        { namespace: previous.namespace, name: previous.name },
        { count: previous.count, lastTimestamp: now.toISOString() },
      );
      return;
    }
    this.#prune(now.getTime());
    const name = `${object.metadata.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
    await this.#client.create(Events, {
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.#component, host: this.#host },
      reportingComponent: this.#component,
      reportingInstance: this.#host,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      count: 1,
    });
    this.#recent.set(key, {
      name,
      namespace,
      count: 1,
      firstTimestamp: now.toISOString(),
      at: now.getTime(),
    });
  }

  #prune(now: number): void {
    if (this.#recent.size < 4096) return;
    for (const [key, recorded] of this.#recent)
      if (now - recorded.at > AGGREGATE_WINDOW_MS) this.#recent.delete(key);
  }
}
