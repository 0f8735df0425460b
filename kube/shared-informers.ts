// One informer per kind (and selector) for everything that runs in one
// process, as client-go's SharedInformerFactory: the scheduler and the
// controllers read the same caches, so the API server serves one watch per
// kind instead of one per component.
import type { KubeObject } from './api/meta.ts';
import type { ResourceType } from './api/resources.ts';
import type { KubeClient } from './client.ts';
import { Informer, type InformerOptions } from './informer.ts';
import type { Logger } from '../lib/log.ts';

export type SharedInformerOptions = Pick<InformerOptions, 'labelSelector' | 'namespace'>;

export class SharedInformers {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #namespace: string | undefined;

  /** With `namespace`, every informer watches that namespace only. */
  constructor(client: KubeClient, log: Logger, options: { namespace?: string } = {}) {
    this.#client = client;
    this.#log = log;
    this.#namespace = options.namespace;
  }

  /** The informer for this kind and selector, made on first use. */
  for<T extends KubeObject>(
    type: ResourceType<T>,
    requested: SharedInformerOptions = {},
  ): Informer<T> {
    const options = { ...requested, namespace: requested.namespace ?? this.#namespace };
    const key = `${type.group}/${type.plural}?ns=${options.namespace ?? ''}&l=${options.labelSelector ?? ''}`;
    let informer = this.#informers.get(key);
    if (!informer) {
      informer = new Informer(this.#client, type, {
        ...options,
        log: this.#log,
      }) as unknown as Informer<KubeObject>;
      this.#informers.set(key, informer);
    }
    return informer as unknown as Informer<T>;
  }

  /** Starts every informer made so far; resolves once all have synced. */
  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((informer) => informer.stop()));
  }
}
