// A cache of one kind of object kept current by list and watch, in the manner
// of client-go's SharedInformer: it lists once, then watches from the list's
// resourceVersion with bookmarks; after a 410 Gone it lists again and reports
// the difference as events; after any other error it retries with back-off
// from where it was, so that an API server restart loses nothing.
import type { KubeObject } from './api/meta.ts';
import type { ResourceType } from './api/resources.ts';
import { cacheKey, type KubeClient } from './client.ts';
import { isGone } from './errors.ts';
import { Backoff } from '../lib/backoff.ts';
import { sleep } from '../lib/duration.ts';
import { errorMessage } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/log.ts';

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  /** Also called with old === new on each resync. */
  onUpdate?(oldObject: T, newObject: T): void;
  onDelete?(object: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Replay every cached object as an update this often; 0 (default) never. */
  resyncMs?: number;
  /** Page size of the initial list (default 500). */
  pageSize?: number;
  log?: Logger;
}

/** Objects by "namespace/name", with optional secondary indexes. */
export class Store<T extends KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, (object: T) => string[]>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  get size(): number {
    return this.#items.size;
  }

  /** Adds an index, such as Sandboxes by spec.podName. */
  addIndex(name: string, indexer: (object: T) => string[]): void {
    this.#indexers.set(name, indexer);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, object] of this.#items) this.#indexAdd(index, indexer, key, object);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.#indexes.get(name)?.get(value);
    if (!this.#indexes.has(name)) throw new Error(`Cannot look up index ${name}: no such index`);
    return keys ? [...keys].map((key) => this.#items.get(key)!) : [];
  }

  /** Stores an object; returns the one it replaced. */
  set(object: T): T | undefined {
    const key = cacheKey(object);
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    this.#items.set(key, object);
    for (const [name, indexer] of this.#indexers)
      this.#indexAdd(this.#indexes.get(name)!, indexer, key, object);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  #indexAdd(
    index: Map<string, Set<string>>,
    indexer: (object: T) => string[],
    key: string,
    object: T,
  ): void {
    for (const value of indexer(object)) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  #unindex(key: string, object: T): void {
    for (const [name, indexer] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const value of indexer(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}

export class Informer<T extends KubeObject> {
  readonly store = new Store<T>();
  readonly #client: KubeClient;
  readonly #type: ResourceType<T>;
  readonly #options: InformerOptions;
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #resourceVersion: string | undefined;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #running: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(client: KubeClient, type: ResourceType<T>, options: InformerOptions = {}) {
    this.#client = client;
    this.#type = type;
    this.#options = options;
    this.#log = (options.log ?? createLogger('informer')).child({ resource: type.plural });
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
    // A late handler sees what is already cached, as with client-go.
    if (this.#synced) for (const object of this.store.list()) handlers.onAdd?.(object);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Starts listing and watching; resolves once the cache holds the first full list. */
  start(): Promise<void> {
    this.#running ??= this.#run();
    if (this.#options.resyncMs) {
      this.#resyncTimer = setInterval(() => this.#resync(), this.#options.resyncMs);
      this.#resyncTimer.unref();
    }
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#resyncTimer);
    await this.#running;
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) await this.#relist();
        await this.#client.watch(
          this.#type,
          {
            namespace: this.#options.namespace,
            labelSelector: this.#options.labelSelector,
            fieldSelector: this.#options.fieldSelector,
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            // Spread watch renewals so that many informers do not reconnect at once.
            timeoutSeconds: 240 + Math.floor(Math.random() * 120),
            signal,
          },
          (event) => {
            backoff.reset();
            this.#apply(event.type, event.object);
          },
        );
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.#log.debug('watch expired (410 Gone); listing again');
          this.#resourceVersion = undefined;
          continue;
        }
        const wait = backoff.next();
        this.#log.warn(
          { err: errorMessage(err), retryInMs: Math.round(wait) },
          'watch failed; retrying',
        );
        await sleep(wait, signal);
      }
    }
  }

  async #relist(): Promise<void> {
    const seen = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.#client.list(this.#type, {
        namespace: this.#options.namespace,
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        limit: this.#options.pageSize ?? 500,
        continue: continueToken,
      });
      for (const item of page.items) seen.set(cacheKey(item), item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? '';
    } while (continueToken);

    for (const key of this.store.keys()) {
      if (!seen.has(key)) {
        const old = this.store.delete(key)!;
        this.#emit((h) => h.onDelete?.(old));
      }
    }
    for (const object of seen.values()) this.#apply('MODIFIED', object);
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  #apply(type: string, object: T): void {
    if (object.metadata.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
    if (type === 'BOOKMARK') return;
    if (type === 'DELETED') {
      const old = this.store.delete(cacheKey(object));
      if (old) this.#emit((h) => h.onDelete?.(object));
      return;
    }
    const old = this.store.set(object);
    if (!old) this.#emit((h) => h.onAdd?.(object));
    else if (old.metadata.resourceVersion !== object.metadata.resourceVersion)
      this.#emit((h) => h.onUpdate?.(old, object));
  }

  #resync(): void {
    for (const object of this.store.list()) this.#emit((h) => h.onUpdate?.(object, object));
  }

  #emit(call: (handlers: InformerHandlers<T>) => void): void {
    for (const handlers of this.#handlers) {
      try {
        call(handlers);
      } catch (err) {
        this.#log.error({ err: errorMessage(err) }, 'informer handler threw');
      }
    }
  }
}
