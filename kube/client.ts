// The one way Roost talks to the API server: typed get, list, create, replace,
// patch (merge, JSON, server-side apply), delete and watch over a keep-alive
// HTTPS agent. @kubernetes/client-node loads the kubeconfig and supplies the
// credentials; requests are plain JSON so that every kind, built-in or Roost's,
// goes through the same small code path.
import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { KubeList, KubeObject, Status } from './api/meta.ts';
import { apiVersionOf, type ResourceType } from './api/resources.ts';
import { KubeApiError, KubeCancelledError, KubeConnectionError } from './errors.ts';

export interface ObjectKey {
  namespace?: string;
  name: string;
}

/**
 * What every call takes: a signal that cancels it. A leader passes its term's
 * signal so that nothing it started is still waiting on the API server once it
 * has stopped leading; a renewal passes its renew deadline.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WriteOptions extends CallOptions {
  fieldManager?: string;
  dryRun?: boolean;
  /** Write a subresource such as "status" or "scale". */
  subresource?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  /** Default "merge". */
  patchType?: PatchType;
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
}

export interface DeleteOptions extends CallOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export interface WatchOptions extends Omit<ListOptions, 'limit' | 'continue'> {
  allowWatchBookmarks?: boolean;
  /** The server ends the watch after this long; the caller starts another. */
  timeoutSeconds?: number;
}

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

interface Transport {
  server: URL;
  options: RequestOptions;
  /** When the credential headers were last taken from the kubeconfig. */
  credentialsAt: number;
}

/**
 * Bound service-account tokens expire (an hour in the chart) and the kubelet
 * rewrites the file before they do; like client-go, re-take credentials on
 * this interval so that a long-running component never sends a stale token.
 */
const CREDENTIALS_REFRESH_MS = 30_000;

export interface KubeClientOptions {
  /** Default "roost"; names the writer in managedFields. */
  fieldManager?: string;
  /** Default 30 s. */
  requestTimeoutMs?: number;
}

/** The connection a client and the clients derived from it share. */
interface Connection {
  transport?: Promise<Transport>;
  agent?: Agent | HttpAgent;
  watchAgent?: Agent | HttpAgent;
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly fieldManager: string;
  readonly #requestTimeoutMs: number;
  readonly #connection: Connection;
  /** Bound by withSignal: every call of this client ends when it aborts. */
  readonly #signal: AbortSignal | undefined;

  /** `shared` is for the clients this class derives: the same connection, maybe a bound signal. */
  constructor(
    config: KubeConfig,
    options: KubeClientOptions = {},
    shared?: { connection: Connection; signal?: AbortSignal },
  ) {
    this.config = config;
    this.fieldManager = options.fieldManager ?? 'roost';
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#connection = shared?.connection ?? {};
    this.#signal = shared?.signal;
  }

  /** From a kubeconfig file, or from the usual places (KUBECONFIG, ~/.kube/config, in-cluster) without one. */
  static load(kubeconfigPath?: string, options?: KubeClientOptions): KubeClient {
    const config = new KubeConfig();
    if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
    else config.loadFromDefault();
    return new KubeClient(config, options);
  }

  /** The same credentials, another field manager (one per component). */
  withFieldManager(fieldManager: string): KubeClient {
    return new KubeClient(
      this.config,
      { fieldManager, requestTimeoutMs: this.#requestTimeoutMs },
      { connection: this.#connection, signal: this.#signal },
    );
  }

  /**
   * The same client, with every call (watches included) bound to `signal` as
   * well as to its own: once the signal aborts, calls in flight are cancelled
   * and new ones fail at once without being sent. A leader hands its
   * components a client bound to its term, so that a leader that has lost its
   * Lease cannot write another thing. It shares this client's connection;
   * close() on it does nothing.
   */
  withSignal(signal: AbortSignal): KubeClient {
    return new KubeClient(
      this.config,
      { fieldManager: this.fieldManager, requestTimeoutMs: this.#requestTimeoutMs },
      {
        connection: this.#connection,
        signal: this.#signal ? AbortSignal.any([this.#signal, signal]) : signal,
      },
    );
  }

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '(no cluster in kubeconfig)';
  }

  close(): void {
    if (this.#signal) return;
    this.#connection.agent?.destroy();
    this.#connection.watchAgent?.destroy();
  }

  async get<T extends KubeObject>(
    type: ResourceType<T>,
    key: ObjectKey,
    options: CallOptions = {},
  ): Promise<T> {
    return this.#json<T>('GET', pathOf(type, key.namespace, key.name), {
      what: `Cannot get ${describe(type, key)}`,
      signal: options.signal,
    });
  }

  async list<T extends KubeObject>(
    type: ResourceType<T>,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const query = new URLSearchParams();
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.limit) query.set('limit', String(options.limit));
    if (options.continue) query.set('continue', options.continue);
    if (options.resourceVersion !== undefined)
      query.set('resourceVersion', options.resourceVersion);
    const list = await this.#json<KubeList<T>>(
      'GET',
      withQuery(pathOf(type, options.namespace), query),
      { what: `Cannot list ${type.plural}`, signal: options.signal },
    );
    // Items of a list carry no kind; fill it in so that every object looks the same.
    for (const item of list.items) {
      item.apiVersion ??= apiVersionOf(type);
      item.kind ??= type.kind;
    }
    return list;
  }

  async create<T extends KubeObject>(
    type: ResourceType<T>,
    object: T,
    options: WriteOptions = {},
  ): Promise<T> {
    const namespace = object.metadata.namespace;
    const path = pathOf(
      type,
      namespace,
      options.subresource ? object.metadata.name : undefined,
      options.subresource,
    );
    const body = { apiVersion: apiVersionOf(type), kind: type.kind, ...object };
    return this.#json<T>('POST', withQuery(path, this.#writeQuery(options)), {
      what: `Cannot create ${describe(type, { namespace, name: object.metadata.name ?? object.metadata.generateName ?? '' })}`,
      body,
      signal: options.signal,
    });
  }

  /** PUT: fails with Conflict if object.metadata.resourceVersion is stale. */
  async replace<T extends KubeObject>(
    type: ResourceType<T>,
    object: T,
    options: WriteOptions = {},
  ): Promise<T> {
    const key = keyOf(object);
    const path = pathOf(type, key.namespace, key.name, options.subresource);
    const body = { apiVersion: apiVersionOf(type), kind: type.kind, ...object };
    return this.#json<T>('PUT', withQuery(path, this.#writeQuery(options)), {
      what: `Cannot update ${describe(type, key)}`,
      body,
      signal: options.signal,
    });
  }

  async patch<T extends KubeObject>(
    type: ResourceType<T>,
    key: ObjectKey,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    const patchType = options.patchType ?? 'merge';
    const query = this.#writeQuery(options);
    if (patchType === 'apply') {
      query.set('fieldManager', options.fieldManager ?? this.fieldManager);
      if (options.force) query.set('force', 'true');
    }
    const path = withQuery(pathOf(type, key.namespace, key.name, options.subresource), query);
    return this.#json<T>('PATCH', path, {
      what: `Cannot patch ${describe(type, key)}`,
      body: patch,
      contentType: CONTENT_TYPES[patchType],
      signal: options.signal,
    });
  }

  /** Server-side apply of a complete object that this field manager owns. */
  async apply<T extends KubeObject>(
    type: ResourceType<T>,
    object: T,
    options: Omit<PatchOptions, 'patchType'> = {},
  ): Promise<T> {
    const body = { apiVersion: apiVersionOf(type), kind: type.kind, ...object };
    return this.patch(type, keyOf(object), body, { ...options, patchType: 'apply' });
  }

  /**
   * Server-side apply of status alone, forcing ownership of the fields given:
   * each component (scheduler, sidecar, controller) owns the status fields it
   * sends and leaves the others' alone.
   */
  async applyStatus<T extends KubeObject & { status?: unknown }>(
    type: ResourceType<T>,
    key: ObjectKey,
    status: T['status'],
    options: { fieldManager: string } & CallOptions,
  ): Promise<T> {
    const body = {
      apiVersion: apiVersionOf(type),
      kind: type.kind,
      metadata: { name: key.name, namespace: key.namespace },
      status,
    };
    return this.patch(type, key, body, {
      patchType: 'apply',
      subresource: 'status',
      fieldManager: options.fieldManager,
      force: true,
      signal: options.signal,
    });
  }

  async delete(
    type: ResourceType<KubeObject>,
    key: ObjectKey,
    options: DeleteOptions = {},
  ): Promise<void> {
    const { signal, ...deleteOptions } = options;
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...deleteOptions };
    await this.#json('DELETE', pathOf(type, key.namespace, key.name), {
      what: `Cannot delete ${describe(type, key)}`,
      body,
      signal,
    });
  }

  /**
   * Streams watch events to `onEvent` until the server ends the watch, the
   * signal aborts, or an error arrives. A watch ERROR event (such as 410 Gone
   * for a resourceVersion too old) is thrown as a KubeApiError.
   */
  async watch<T extends KubeObject>(
    type: ResourceType<T>,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const query = new URLSearchParams({ watch: 'true' });
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.resourceVersion) query.set('resourceVersion', options.resourceVersion);
    if (options.allowWatchBookmarks) query.set('allowWatchBookmarks', 'true');
    if (options.timeoutSeconds) query.set('timeoutSeconds', String(options.timeoutSeconds));
    const path = withQuery(pathOf(type, options.namespace), query);
    const signal = this.#bound(options.signal);
    const response = await this.#send('GET', path, undefined, undefined, {
      watch: true,
      signal,
      what: `Cannot watch ${type.plural}`,
    });
    if ((response.statusCode ?? 0) >= 300) {
      // Refused credentials: take them again now, so the watch the informer starts next carries them.
      if (response.statusCode === 401) await this.#credentialsChanged();
      throw await errorFrom(response, `Cannot watch ${type.plural}`);
    }
    const lines = createInterface({ input: response, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line) continue;
        const event = JSON.parse(line) as { type: WatchEventType | 'ERROR'; object: T & Status };
        if (event.type === 'ERROR') {
          const status = event.object as Status;
          throw new KubeApiError(status.code ?? 500, status, `Watch of ${type.plural} ended`);
        }
        onEvent(event as WatchEvent<T>);
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      response.destroy();
    }
  }

  /**
   * Any request, for paths the typed methods do not cover (/readyz, /version).
   * `signal` cancels it (a probe that must not wait out the socket timeout).
   */
  async raw<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.#json<T>(method, path, {
      what: `${method} ${path} failed`,
      body,
      signal: options.signal,
    });
  }

  #writeQuery(options: WriteOptions): URLSearchParams {
    const query = new URLSearchParams();
    query.set('fieldManager', options.fieldManager ?? this.fieldManager);
    if (options.dryRun) query.set('dryRun', 'All');
    return query;
  }

  /** This client's bound signal and a call's own, as one. */
  #bound(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (!this.#signal) return signal;
    return signal ? AbortSignal.any([this.#signal, signal]) : this.#signal;
  }

  async #json<T>(
    method: string,
    path: string,
    call: { what: string; body?: unknown; contentType?: string; signal?: AbortSignal },
  ): Promise<T> {
    const { what } = call;
    const signal = this.#bound(call.signal);
    const send = () =>
      this.#send(method, path, call.body, call.contentType ?? 'application/json', {
        signal,
        what,
      });
    let response = await send();
    // Refused credentials: a token may have expired and been replaced on disk
    // since they were taken. Take them again at once and try once more, so
    // that a component never fails a call for a token it could have read.
    if (response.statusCode === 401 && (await this.#credentialsChanged())) {
      response.resume();
      response = await send();
    }
    if ((response.statusCode ?? 0) >= 300) throw await errorFrom(response, what);
    const text = await readBody(response).catch((err: unknown) => {
      throw signal?.aborted ? new KubeCancelledError(what, signal.reason) : err;
    });
    if (!text) return undefined as T;
    // Health endpoints such as /readyz answer plain text.
    const json = response.headers['content-type']?.includes('json') ?? false;
    return (json ? JSON.parse(text) : text) as T;
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    contentType: string | undefined,
    options: { watch?: boolean; signal?: AbortSignal; what: string },
  ): Promise<IncomingMessage> {
    // Cancelled before it left: never send it (a leader past its term must not write).
    if (options.signal?.aborted) throw new KubeCancelledError(options.what, options.signal.reason);
    const transport = await this.#connect();
    if (Date.now() - transport.credentialsAt > CREDENTIALS_REFRESH_MS)
      await this.#refreshCredentials(transport);
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const url = new URL(transport.server.pathname.replace(/\/$/, '') + path, transport.server);
    const requestOptions: RequestOptions = {
      ...transport.options,
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      agent: options.watch ? this.#connection.watchAgent : this.#connection.agent,
      headers: {
        ...transport.options.headers,
        accept: 'application/json',
        ...(payload !== undefined
          ? {
              'content-type': contentType ?? 'application/json',
              'content-length': Buffer.byteLength(payload),
            }
          : {}),
      },
      signal: options.signal,
    };
    const send = url.protocol === 'https:' ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(requestOptions, resolve);
      if (!options.watch) {
        req.setTimeout(this.#requestTimeoutMs, () =>
          req.destroy(new Error(`no response in ${this.#requestTimeoutMs} ms`)),
        );
      }
      req.on('error', (err) => {
        if (options.signal?.aborted)
          reject(new KubeCancelledError(options.what, options.signal.reason));
        else reject(new KubeConnectionError(this.server, err));
      });
      req.end(payload);
    });
  }

  #connect(): Promise<Transport> {
    this.#connection.transport ??= (async () => {
      const cluster = this.config.getCurrentCluster();
      if (!cluster)
        throw new KubeConnectionError(
          '(none)',
          new Error('the kubeconfig names no current cluster'),
        );
      const options: RequestOptions = { headers: {} };
      await this.config.applyToHTTPSOptions(
        options as Parameters<KubeConfig['applyToHTTPSOptions']>[0],
      );
      const server = new URL(cluster.server);
      const tls = {
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized,
      };
      if (server.protocol === 'https:') {
        this.#connection.agent = new Agent({ keepAlive: true, maxSockets: 64, ...tls });
        this.#connection.watchAgent = new Agent({ keepAlive: false, ...tls });
      } else {
        this.#connection.agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
        this.#connection.watchAgent = new HttpAgent({ keepAlive: false });
      }
      const token = this.#tokenFromFile();
      const headers = token
        ? { ...options.headers, authorization: `Bearer ${token}` }
        : options.headers;
      return {
        server,
        options: { headers: withoutDuplicateAuthorization(headers) },
        credentialsAt: Date.now(),
      };
    })();
    return this.#connection.transport;
  }

  async #refreshCredentials(transport: Transport): Promise<void> {
    transport.credentialsAt = Date.now();
    const options: RequestOptions = { headers: {} };
    await this.config.applyToHTTPSOptions(
      options as Parameters<KubeConfig['applyToHTTPSOptions']>[0],
    );
    // @kubernetes/client-node keeps an in-cluster token file's content for a
    // minute; read the file itself, so a replaced token is used from now on.
    const token = this.#tokenFromFile();
    if (token) options.headers = { ...options.headers, authorization: `Bearer ${token}` };
    transport.options.headers = withoutDuplicateAuthorization(options.headers);
  }

  /** Takes the credentials again; true if they differ from those just refused. */
  async #credentialsChanged(): Promise<boolean> {
    const transport = await this.#connect();
    const before = JSON.stringify(transport.options.headers);
    await this.#refreshCredentials(transport);
    return JSON.stringify(transport.options.headers) !== before;
  }

  /** The token of a user that names a token file (in-cluster, or `tokenFile` in a kubeconfig). */
  #tokenFromFile(): string | undefined {
    const user = this.config.getCurrentUser() as {
      authProvider?: { config?: { tokenFile?: string } };
      'token-file'?: string;
    } | null;
    const file = user?.authProvider?.config?.tokenFile ?? user?.['token-file'];
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      return undefined; // Being replaced this instant: the next refresh reads it.
    }
  }
}

/** client-node writes "Authorization"; a token read here is "authorization": keep the latter. */
function withoutDuplicateAuthorization(
  headers: RequestOptions['headers'],
): RequestOptions['headers'] {
  if (!headers || Array.isArray(headers)) return headers;
  const record = headers as Record<string, unknown>;
  if (record.authorization === undefined || record.Authorization === undefined) return headers;
  const { Authorization: _replaced, ...rest } = record;
  return rest as RequestOptions['headers'];
}

export function keyOf(object: KubeObject): ObjectKey {
  const name = object.metadata.name;
  if (!name) throw new TypeError('object has no metadata.name');
  return { namespace: object.metadata.namespace, name };
}

/** "namespace/name", the cache and work-queue key of a namespaced object. */
export function cacheKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : (name ?? '');
}

export function splitKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function pathOf(
  type: ResourceType<KubeObject>,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let path = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  if (type.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${type.plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

function withQuery(path: string, query: URLSearchParams): string {
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

function describe(type: ResourceType<KubeObject>, key: ObjectKey): string {
  return `${type.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    // Cut off mid-body (a cancelled call): 'end' never comes.
    response.on('close', () => {
      if (!response.complete) reject(new Error('the response was cut off'));
    });
  });
}

async function errorFrom(response: IncomingMessage, what: string): Promise<KubeApiError> {
  const text = await readBody(response).catch(() => '');
  let status: Status | undefined;
  try {
    status = JSON.parse(text) as Status;
  } catch {
    status = { message: text.trim() || undefined };
  }
  return new KubeApiError(response.statusCode ?? 0, status, what);
}
