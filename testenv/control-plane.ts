// A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver and
// kube-controller-manager (garbage collector and namespace controllers), started
// the way controller-runtime's envtest starts them, with the Roost CRDs
// installed. Ports are picked free, data lives in a temp dir, and stop() leaves
// no process behind; the binaries also die with their parent if it is killed.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { makeEtcdCertificates, type EtcdTls } from './etcd-tls.ts';
import { request as httpsRequest } from 'node:https';
import { renderKubeconfig } from './kubeconfig.ts';
import { freePort } from '../lib/ports.ts';
import { startProcess, type Exit, type ManagedProcess } from '../lib/process.ts';
import { RoostError, errorMessage } from '../lib/errors.ts';
import { sleep } from '../lib/duration.ts';
import { KubeClient } from '../kube/client.ts';
import { CustomResourceDefinitions } from '../kube/api/resources.ts';
import type { CustomResourceDefinition } from '../kube/api/core.ts';
import { renderCrdFiles } from '../crds/render.ts';

export interface StartControlPlaneOptions {
  /** Where data, logs and the kubeconfig go; a new temp dir by default. */
  dir?: string;
  /** Progress lines for people ("starting etcd"). */
  progress?: (line: string) => void;
  /** Install the Roost CRDs (default true). */
  installCrds?: boolean;
  /**
   * Serve real kubelets (testenv/nodes/) instead of played ones: listen where
   * pods reach the API server, authorize nodes as a cluster does, mount
   * service-account tokens, and run every controller of a real cluster.
   */
  realNodes?: RealNodeServing;
  /**
   * One of its processes (etcd, kube-apiserver, kube-controller-manager) died
   * on its own, not stopped: roost dev says so at once, since nothing works
   * without them.
   */
  onExit?: (name: string, exit: Exit) => void;
}

/** What a control plane needs to know to serve real nodes. */
export interface RealNodeServing {
  /** Where the API server listens and what it advertises (a local, non-loopback address). */
  address: string;
  /** Where Service ClusterIPs come from; programmed into nftables by kube-proxy. */
  serviceCidr: string;
  /** The certificate the API server shows to kubelets (exec, logs). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** Static token users besides the admin: each kubelet, kube-proxy, kube-scheduler. */
  tokens: StaticTokenUser[];
}

export interface StaticTokenUser {
  token: string;
  user: string;
  groups: string[];
}

/**
 * Played nodes never program Services, so the range only has to be valid and
 * stay on this machine: the top of the test range (see testenv/nodes/network.ts).
 */
const PLAYED_SERVICE_CIDR = '198.19.255.0/24';

export class ControlPlaneError extends RoostError {
  constructor(message: string) {
    super('ROOST_TESTENV_START', message);
  }
}

export interface ControlPlane {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly binaries: ControlPlaneBinaries;
  readonly etcdUrl: string;
  /** etcd's CA and the client certificate kube-apiserver uses; without one, etcd refuses. */
  readonly etcdTls: EtcdTls;
  /** Process ids of etcd, kube-apiserver and kube-controller-manager (the API server's changes on restart). */
  readonly pids: Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager', number | undefined>;
  /** A client with admin rights. */
  client(): KubeClient;
  /** Stops kube-apiserver and starts it again on the same port and etcd. */
  restartApiServer(): Promise<void>;
  /** Starts etcd again on its data directory and ports (after a test killed it, or stops it first). */
  restartEtcd(): Promise<void>;
  stop(): Promise<void>;
}

const EXIT_WITH_PARENT = { ROOST_EXIT_WITH_PARENT: '1' };

export async function startControlPlane(
  options: StartControlPlaneOptions = {},
): Promise<ControlPlane> {
  const progress = options.progress ?? (() => {});
  const binaries = await ensureBinaries(progress);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'roost-control-plane-'));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const processes: ManagedProcess[] = [];
  let stopped = false;

  const stopAll = async () => {
    stopped = true;
    // Reverse order: the controller manager, then the API server, then etcd.
    for (const child of [...processes].reverse()) await child.stop(5000);
    processes.length = 0;
  };

  try {
    const [etcdPort, etcdPeerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const etcdUrl = `https://127.0.0.1:${etcdPort}`;
    const etcdTls = await makeEtcdCertificates(join(dir, 'etcd-pki'));
    progress(`starting etcd ${binaries.etcdVersion} on ${etcdUrl} (TLS, client certificates)`);
    // Same data directory and ports each time: a restarted etcd has everything the last one had.
    const startEtcd = () => {
      const child = startProcess({
        name: 'etcd',
        command: binaries.etcd,
        args: [
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=https://127.0.0.1:${etcdPeerPort}`,
          `--initial-advertise-peer-urls=https://127.0.0.1:${etcdPeerPort}`,
          `--initial-cluster=default=https://127.0.0.1:${etcdPeerPort}`,
          `--cert-file=${etcdTls.serverCertFile}`,
          `--key-file=${etcdTls.serverKeyFile}`,
          `--trusted-ca-file=${etcdTls.caFile}`,
          '--client-cert-auth',
          `--peer-cert-file=${etcdTls.serverCertFile}`,
          `--peer-key-file=${etcdTls.serverKeyFile}`,
          `--peer-trusted-ca-file=${etcdTls.caFile}`,
          '--peer-client-cert-auth',
          '--unsafe-no-fsync',
          '--log-level=warn',
          '--quota-backend-bytes=4294967296',
        ],
        env: { ...process.env, ...EXIT_WITH_PARENT },
        logFile: join(dir, 'logs', 'etcd.log'),
      });
      processes.unshift(child);
      return child;
    };
    let etcd = startEtcd();
    const waitForEtcd = () => waitUntil('etcd', etcd, () => etcdHealthy(etcdUrl, etcdTls));
    await waitForEtcd();

    const token = randomBytes(24).toString('hex');
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'sa.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const realNodes = options.realNodes;
    const users: StaticTokenUser[] = [
      { token, user: 'roost-admin', groups: ['system:masters'] },
      ...(realNodes?.tokens ?? []),
    ];
    writeFileSync(
      join(dir, 'tokens.csv'),
      users.map((u) => `${u.token},${u.user},${u.user},"${u.groups.join(',')}"\n`).join(''),
      { mode: 0o600 },
    );
    const address = realNodes?.address ?? '127.0.0.1';
    const server = `https://${address}:${apiPort}`;
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--etcd-cafile=${etcdTls.caFile}`,
      `--etcd-certfile=${etcdTls.clientCertFile}`,
      `--etcd-keyfile=${etcdTls.clientKeyFile}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--secure-port=${apiPort}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--service-cluster-ip-range=${realNodes?.serviceCidr ?? PLAYED_SERVICE_CIDR}`,
      '--allow-privileged=true',
      ...(realNodes
        ? [
            // As a cluster runs: kubelets confined to their own node's objects.
            '--authorization-mode=Node,RBAC',
            '--enable-admission-plugins=NodeRestriction',
            `--kubelet-client-certificate=${realNodes.kubeletClientCert}`,
            `--kubelet-client-key=${realNodes.kubeletClientKey}`,
            // Otherwise it resolves node names through the machine's resolver.
            '--kubelet-preferred-address-types=InternalIP',
          ]
        : [
            '--authorization-mode=RBAC',
            // Played host pods are written by tests, not admitted with a service account.
            '--disable-admission-plugins=ServiceAccount',
          ]),
      '--max-requests-inflight=2000',
      '--max-mutating-requests-inflight=1000',
      '--profiling=false',
      '--v=0',
    ];
    const startApiServer = () => {
      const child = startProcess({
        name: 'kube-apiserver',
        command: binaries.kubeApiserver,
        args: apiServerArgs,
        env: { ...process.env, ...EXIT_WITH_PARENT },
        logFile: join(dir, 'logs', 'kube-apiserver.log'),
      });
      processes.splice(1, 0, child);
      return child;
    };

    progress(`starting kube-apiserver ${binaries.kubernetesVersion} on ${server}`);
    let apiServer = startApiServer();
    const kubeconfigPath = join(dir, 'kubeconfig');
    let admin: KubeClient | undefined;
    const waitForApiServer = async () => {
      await waitUntil(
        'kube-apiserver',
        apiServer,
        async () => {
          // The serving certificate appears in cert-dir a moment after start.
          const caPem = readFileSync(join(dir, 'certs', 'apiserver.crt'), 'utf8');
          writeFileSync(kubeconfigPath, renderKubeconfig({ server, caPem, token }), {
            mode: 0o600,
          });
          admin ??= KubeClient.load(kubeconfigPath);
          const ready = await admin.raw<string>('GET', '/readyz');
          return ready !== undefined;
        },
        90_000,
        join(dir, 'logs', 'kube-apiserver.log'),
      );
    };
    await waitForApiServer();

    // CRDs first: the garbage collector discovers resources when it starts, and
    // would otherwise only see the Roost kinds at its next discovery (30 s).
    if (options.installCrds !== false) {
      progress('installing the roost.dev CRDs');
      await installCrds(admin!);
    }

    progress(
      realNodes
        ? 'starting kube-controller-manager (every controller)'
        : 'starting kube-controller-manager (garbage collector, namespace controller)',
    );
    processes.push(
      startProcess({
        name: 'kube-controller-manager',
        command: binaries.kubeControllerManager,
        args: [
          `--kubeconfig=${kubeconfigPath}`,
          ...(realNodes
            ? [
                // Deployments, ReplicaSets, EndpointSlices, service accounts
                // and the kube-root-ca.crt ConfigMap that token volumes mount.
                '--controllers=*',
                `--root-ca-file=${join(dir, 'certs', 'apiserver.crt')}`,
                `--service-account-private-key-file=${join(dir, 'sa.key')}`,
              ]
            : ['--controllers=garbage-collector-controller,namespace-controller']),
          '--leader-elect=false',
          '--secure-port=0',
          '--concurrent-gc-syncs=5',
          '--v=0',
        ],
        env: { ...process.env, ...EXIT_WITH_PARENT },
        logFile: join(dir, 'logs', 'kube-controller-manager.log'),
      }),
    );

    const pidOf = (name: string) => processes.find((p) => p.name === name && !p.exit)?.pid;
    const watchExit = (child: ManagedProcess) =>
      void child.exited.then((exit) => {
        if (!stopped && processes.includes(child)) options.onExit?.(child.name, exit);
      });
    processes.forEach(watchExit);
    return {
      dir,
      kubeconfigPath,
      server,
      binaries,
      etcdUrl,
      etcdTls,
      get pids() {
        return {
          etcd: pidOf('etcd'),
          'kube-apiserver': pidOf('kube-apiserver'),
          'kube-controller-manager': pidOf('kube-controller-manager'),
        };
      },
      client: () => KubeClient.load(kubeconfigPath),
      async restartApiServer() {
        await apiServer.stop(10_000);
        processes.splice(processes.indexOf(apiServer), 1);
        apiServer = startApiServer();
        watchExit(apiServer);
        await waitForApiServer();
      },
      async restartEtcd() {
        // Gone already (a test killed it) or stopped now; started again on the same data.
        await etcd.stop(10_000);
        processes.splice(processes.indexOf(etcd), 1);
        etcd = startEtcd();
        watchExit(etcd);
        await waitForEtcd();
      },
      async stop() {
        if (stopped) return;
        admin?.close();
        await stopAll();
        if (!options.dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Creates or updates the Roost CRDs and waits until each is Established. */
export async function installCrds(client: KubeClient): Promise<void> {
  const crds = renderCrdFiles().map(([, text]) => parse(text) as CustomResourceDefinition);
  await Promise.all(crds.map((crd) => installCrd(client, crd)));
}

/** Creates or updates one CRD and waits until it is Established (its resource is served). */
export async function installCrd(client: KubeClient, crd: CustomResourceDefinition): Promise<void> {
  await client.apply(CustomResourceDefinitions, crd, {
    force: true,
    fieldManager: 'roost-install',
  });
  await waitUntilTrue(`CRD ${crd.metadata.name} to be established`, 30_000, async () => {
    const current = await client.get(CustomResourceDefinitions, { name: crd.metadata.name! });
    return (
      current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ??
      false
    );
  });
}

async function waitUntilTrue(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = errorMessage(err);
    }
    await sleep(100);
  }
  throw new ControlPlaneError(`Timed out waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

/** etcd's /health, asked with the client certificate it requires. */
function etcdHealthy(url: string, tls: EtcdTls): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}/health`,
      {
        ca: readFileSync(tls.caFile),
        cert: readFileSync(tls.clientCertFile),
        key: readFileSync(tls.clientKeyFile),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('etcd /health timed out')));
    req.end();
  });
}

/** Polls `check` until it holds, failing early if the process exits. */
async function waitUntil(
  name: string,
  child: ManagedProcess,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  logFile?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exit) {
      const tail = logFile ? `\n${tailOf(logFile)}` : '';
      throw new ControlPlaneError(
        `${name} exited (code ${child.exit.code}, signal ${child.exit.signal}) before it was ready${tail}`,
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = errorMessage(err);
    }
    await sleep(100);
  }
  throw new ControlPlaneError(`${name} was not ready after ${timeoutMs / 1000} s: ${lastError}`);
}

function tailOf(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
