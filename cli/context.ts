// Where a verb finds the cluster, the gateway and the invoke token, in one
// place so that every verb resolves them alike (the README documents the
// order). `roost dev` writes .roost/dev.json and .roost/kubeconfig in the
// directory it runs in; a verb run in that directory finds everything there.
//
//   kubeconfig: --kubeconfig, KUBECONFIG, .roost/dev.json `kubeconfig`,
//               .roost/kubeconfig, ~/.kube/config, in-cluster
//   namespace:  -n, the kubeconfig context's namespace, "default"
//   gateway:    --gateway, ROOST_GATEWAY, .roost/dev.json `gateway.url`,
//               http://127.0.0.1:8080
//   token:      --token-file, ROOST_INVOKE_TOKEN, .roost/dev.json `token`,
//               the Secret roost-system/roost-invoke-token (key `token`)
//
// With neither --gateway, ROOST_GATEWAY nor .roost/dev.json, and outside a
// pod, the CLI is looking at an installed cluster through a kubeconfig: it
// reaches the gateway and the sidecars by port-forwards through the API
// server (cli/port-forward.ts), as kubectl does.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Pod } from '../kube/api/core.ts';
import { Pods, Secrets } from '../kube/api/resources.ts';
import { PodPortForwards } from './port-forward.ts';
import { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { INVOKE_TOKEN_KEY, INVOKE_TOKEN_SECRET } from '../kube/well-known.ts';
import { sleep } from '../lib/duration.ts';
import { errorMessage } from '../lib/errors.ts';
import { CliError, unreachableError, usageError } from './errors.ts';
import { DEV_NAMESPACE, statePath, type DevState } from './dev/state.ts';

/** The namespace of the invoke-token Secret, where `roost dev` runs the host pods. */
export const SYSTEM_NAMESPACE = DEV_NAMESPACE;
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';
export const DEV_KUBECONFIG = join('.roost', 'kubeconfig');

/** What the resolution reads besides flags; tests pass their own. */
export interface Surroundings {
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
}

export function currentSurroundings(): Surroundings {
  return { env: process.env, cwd: process.cwd(), home: homedir() };
}

/** .roost/dev.json of the working directory, if there is one. */
export function readDevState(where: Surroundings): Partial<DevState> | undefined {
  const file = statePath(where.cwd);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<DevState>;
  } catch (err) {
    throw usageError(
      `Cannot read ${file}: ${errorMessage(err)}; stop and start \`roost dev\` again, or remove the file`,
    );
  }
}

export interface KubeconfigChoice {
  /** Files to load and merge, in order; empty for in-cluster credentials. */
  files: string[];
  /** Where the choice came from, for messages. */
  source: string;
}

export function resolveKubeconfig(
  flag: string | undefined,
  where: Surroundings,
  dev = readDevState(where),
): KubeconfigChoice {
  if (flag) return { files: [flag], source: '--kubeconfig' };
  const fromEnv = where.env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [];
  if (fromEnv.length > 0) return { files: fromEnv, source: 'KUBECONFIG' };
  if (dev?.kubeconfig) {
    const path = isAbsolute(dev.kubeconfig) ? dev.kubeconfig : join(where.cwd, dev.kubeconfig);
    return { files: [path], source: '.roost/dev.json' };
  }
  const local = join(where.cwd, DEV_KUBECONFIG);
  if (existsSync(local)) return { files: [local], source: DEV_KUBECONFIG };
  const home = join(where.home, '.kube', 'config');
  if (existsSync(home)) return { files: [home], source: '~/.kube/config' };
  if (where.env.KUBERNETES_SERVICE_HOST) return { files: [], source: 'in-cluster' };
  throw unreachableError(
    'Cannot find a kubeconfig: pass --kubeconfig, set KUBECONFIG, or start a local cluster with `roost dev` in this directory',
  );
}

export function loadKubeConfig(choice: KubeconfigChoice): KubeConfig {
  const config = new KubeConfig();
  if (choice.files.length === 0) {
    config.loadFromCluster();
    return config;
  }
  for (const [i, file] of choice.files.entries()) {
    if (!existsSync(file))
      throw unreachableError(
        `Cannot read the kubeconfig ${file} (from ${choice.source}): no such file`,
      );
    try {
      if (i === 0) config.loadFromFile(file);
      else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        config.mergeConfig(more);
      }
    } catch (err) {
      throw usageError(`Cannot load the kubeconfig ${file}: ${errorMessage(err)}`);
    }
  }
  return config;
}

/** -n, else the namespace of the kubeconfig's current context, else "default". */
export function resolveNamespace(flag: string | undefined, config: KubeConfig | undefined): string {
  if (flag) return flag;
  const context = config?.getContextObject(config.getCurrentContext());
  return context?.namespace || 'default';
}

export function resolveGatewayUrl(
  flag: string | undefined,
  where: Surroundings,
  dev = readDevState(where),
): string {
  const url = flag || where.env.ROOST_GATEWAY || dev?.gateway?.url || DEFAULT_GATEWAY_URL;
  try {
    return new URL(url).href.replace(/\/$/, '');
  } catch {
    throw usageError(`Cannot use the gateway URL "${url}": write it as http://host:port`);
  }
}

/** The token without a Secret lookup, if flags, environment or dev.json give one. */
export function localToken(
  tokenFile: string | undefined,
  where: Surroundings,
  dev = readDevState(where),
): string | undefined {
  if (tokenFile) {
    try {
      return readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw usageError(`Cannot read the token file ${tokenFile}: ${errorMessage(err)}`);
    }
  }
  return where.env.ROOST_INVOKE_TOKEN || dev?.token || undefined;
}

/** The invoke token from the Secret that the sidecars are given. */
export async function tokenFromSecret(client: KubeClient): Promise<string> {
  try {
    const secret = await client.get(Secrets, {
      namespace: SYSTEM_NAMESPACE,
      name: INVOKE_TOKEN_SECRET,
    });
    const value = secret.data?.[INVOKE_TOKEN_KEY];
    if (value) return Buffer.from(value, 'base64').toString('utf8').trim();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  throw usageError(
    `Cannot find the invoke token that sidecars require: pass --token-file, set ROOST_INVOKE_TOKEN, run in the directory of \`roost dev\`, or create the Secret ${SYSTEM_NAMESPACE}/${INVOKE_TOKEN_SECRET} with key ${INVOKE_TOKEN_KEY}`,
  );
}

/** A sidecar to dial: its host pod and the address it publishes (pod IP and port). */
export interface SidecarEndpoint {
  namespace: string;
  pod: string;
  address: string;
}

/** Maps a sidecar to the host:port the CLI dials for it. */
export type SidecarRoute = (target: SidecarEndpoint) => Promise<string>;

/** Whether a TCP connection to host:port opens within `timeoutMs`. */
function reachable(address: string, timeoutMs = 500): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      timeout: timeoutMs,
    });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

const GATEWAY_PODS = 'app.kubernetes.io/name=roost,app.kubernetes.io/component=gateway';
/** How long to wait for an installed gateway that is there but not ready (rolling, restarting). */
const GATEWAY_READY_WAIT_MS = 15_000;

/**
 * A ready pod of the installed gateway in roost-system; undefined when no
 * gateway is installed there. One that exists but is not ready (a rolling
 * update, a restart) is waited for a little, then named in the error.
 */
async function readyGatewayPod(client: KubeClient): Promise<Pod | undefined> {
  const deadline = Date.now() + GATEWAY_READY_WAIT_MS;
  for (;;) {
    const pods = (
      await client.list(Pods, { namespace: SYSTEM_NAMESPACE, labelSelector: GATEWAY_PODS })
    ).items.filter((pod) => !pod.metadata.deletionTimestamp);
    if (pods.length === 0) return undefined;
    const ready = pods.find((pod) =>
      pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (ready) return ready;
    if (Date.now() >= deadline)
      throw unreachableError(
        `Cannot reach the gateway: none of its ${pods.length} pods in ${SYSTEM_NAMESPACE} is ready (kubectl get pods -n ${SYSTEM_NAMESPACE} -l app.kubernetes.io/component=gateway)`,
      );
    await sleep(500);
  }
}

/** The flags every cluster verb takes (see options.ts). */
export interface GlobalFlags {
  namespace?: string;
  kubeconfig?: string;
  gateway?: string;
  tokenFile?: string;
}

/**
 * Everything a verb may need, resolved on first use: a verb that only talks
 * to the gateway never loads a kubeconfig it does not need.
 */
export class CliContext {
  readonly flags: GlobalFlags;
  readonly where: Surroundings;
  #dev: Partial<DevState> | undefined | null = null;
  #config: KubeConfig | undefined;
  #client: KubeClient | undefined;
  #forwards: PodPortForwards | undefined;

  constructor(flags: GlobalFlags, where = currentSurroundings()) {
    this.flags = flags;
    this.where = where;
  }

  get dev(): Partial<DevState> | undefined {
    if (this.#dev === null) this.#dev = readDevState(this.where);
    return this.#dev;
  }

  get kubeConfig(): KubeConfig {
    this.#config ??= loadKubeConfig(resolveKubeconfig(this.flags.kubeconfig, this.where, this.dev));
    return this.#config;
  }

  get client(): KubeClient {
    this.#client ??= new KubeClient(this.kubeConfig, {
      fieldManager: 'roost-cli',
      requestTimeoutMs: 15_000,
    });
    return this.#client;
  }

  get namespace(): string {
    if (this.flags.namespace) return this.flags.namespace;
    // Without any kubeconfig the namespace is still known: "default".
    try {
      return resolveNamespace(undefined, this.kubeConfig);
    } catch {
      return 'default';
    }
  }

  get gatewayUrl(): string {
    return resolveGatewayUrl(this.flags.gateway, this.where, this.dev);
  }

  /**
   * Whether Roost's pods may be reached through the API server rather than
   * dialled. ROOST_DIAL=direct never forwards; ROOST_DIAL=api-server always
   * does, even where pod addresses are reachable (as the e2e suite proves it).
   */
  get #throughApiServer(): boolean {
    return (
      this.where.env.ROOST_DIAL !== 'direct' &&
      !this.flags.gateway &&
      !this.where.env.ROOST_GATEWAY &&
      !this.dev &&
      !this.where.env.KUBERNETES_SERVICE_HOST
    );
  }

  get #portForwards(): PodPortForwards {
    this.#forwards ??= new PodPortForwards(this.kubeConfig);
    return this.#forwards;
  }

  /**
   * Where to send a function's requests: the gateway URL as resolved, or, for
   * an installed cluster seen through a kubeconfig, a port-forward to a ready
   * gateway pod (the default URL when there is none).
   */
  async gatewayBase(): Promise<string> {
    if (!this.#throughApiServer) return this.gatewayUrl;
    // No gateway installed where a kubeconfig leads, or no right to list
    // pods there: the resolved URL, as without a cluster.
    const gateway = await readyGatewayPod(this.client).catch((err: unknown) => {
      if (err instanceof CliError) throw err;
      return undefined;
    });
    if (!gateway) return this.gatewayUrl;
    const port =
      gateway.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'http')
        ?.containerPort ?? 8080;
    return `http://${await this.#portForwards.address(gateway.metadata.namespace!, gateway.metadata.name!, port)}`;
  }

  /**
   * How to dial a host pod's sidecar: its address as published when this
   * machine reaches it (played host pods, a network that routes pod IPs),
   * else a port-forward to it through the API server.
   */
  sidecarRoute(): SidecarRoute | undefined {
    if (!this.#throughApiServer) return undefined;
    const always = this.where.env.ROOST_DIAL === 'api-server';
    return async (target) => {
      if (!always && (await reachable(target.address))) return target.address;
      const port = Number(target.address.slice(target.address.lastIndexOf(':') + 1));
      return this.#portForwards.address(target.namespace, target.pod, port);
    };
  }

  /** The gateway URL of a function. */
  functionUrl(name: string, namespace = this.namespace): string {
    return `${this.gatewayUrl}/fn/${namespace}/${name}`;
  }

  async token(): Promise<string> {
    return (
      localToken(this.flags.tokenFile, this.where, this.dev) ?? (await tokenFromSecret(this.client))
    );
  }

  close(): void {
    this.#forwards?.close();
    this.#client?.close();
  }
}

/** Runs a verb with a context made from its flags, closing it (client, port-forwards) however the verb ends. */
export async function withCliContext<F extends GlobalFlags>(
  flags: F,
  run: (context: CliContext) => Promise<void>,
): Promise<void> {
  const context = new CliContext(flags);
  try {
    await run(context);
  } finally {
    context.close();
  }
}
