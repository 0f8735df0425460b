// A real multi-node Kubernetes cluster on this machine, as kind builds one but
// without Docker: the control plane of testenv/control-plane.ts serving real
// kubelets, each node with its own containerd and pod bridge, kube-scheduler,
// kube-proxy (nftables) and CoreDNS. `npm run cluster -- --nodes N` and the
// e2e suite both start it here.
//
// Start order: network, certificates, control plane, add-ons, pause image,
// then the nodes in parallel; ready when N nodes are Ready and a pod has run.
// stop() goes the other way and then removes whatever is left (see
// leftovers.ts), so a second run in a row starts from a clean machine.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNodeBinaries, type NodeBinaries } from '../binaries.ts';
import { startControlPlane, type ControlPlane, type StaticTokenUser } from '../control-plane.ts';
import { renderKubeconfig } from '../kubeconfig.ts';
import { acquireInstanceLock } from '../../lib/instance-lock.ts';
import { RoostError, errorMessage } from '../../lib/errors.ts';
import { formatDuration, sleep } from '../../lib/duration.ts';
import type { ManagedProcess } from '../../lib/process.ts';
import type { KubeClient } from '../../kube/client.ts';
import { assertNodePrerequisites } from './prerequisites.ts';
import {
  API_SERVER_ADDRESS,
  MAX_NODES,
  SERVICE_CIDR,
  restoreSysctls,
  setUpNetwork,
  snapshotSysctls,
  tearDownNetwork,
  writeSysctl,
  type NodeNetwork,
} from './network.ts';
import { makeClusterPki } from './pki.ts';
import { startContainerd, type Containerd } from './containerd.ts';
import { startKubelet, type Kubelet } from './kubelet.ts';
import { cleanUpKubeProxy, startCoreDns, startKubeProxy, startKubeScheduler } from './addons.ts';
import { buildPauseImage } from './pause-image.ts';
import { exportImage } from './buildah.ts';
import { findLeftovers, removeLeftovers, type Leftovers } from './leftovers.ts';

export class ClusterStartError extends RoostError {
  constructor(message: string, options?: ErrorOptions) {
    super('ROOST_CLUSTER_START', message, options);
  }
}

export interface StartRealClusterOptions {
  nodes: number;
  /** Where everything lives; a new temp dir by default (removed on stop). */
  dir?: string;
  progress?: (line: string) => void;
}

export interface RealNode {
  readonly name: string;
  readonly network: NodeNetwork;
  readonly containerd: Containerd;
  readonly kubelet: Kubelet;
}

export interface RealCluster {
  readonly dir: string;
  readonly controlPlane: ControlPlane;
  readonly kubeconfigPath: string;
  readonly nodes: readonly RealNode[];
  readonly binaries: NodeBinaries;
  client(): KubeClient;
  /** Loads an image archive (docker-archive or OCI) into every node. */
  importImage(archive: string): Promise<void>;
  /** What is still on the machine from this cluster (empty after stop()). */
  leftovers(): Leftovers;
  stop(): Promise<void>;
}

/** One real-node cluster per machine: its addresses and nftables table are machine-wide. */
const SOCKET_ROOT = '/run/roost';
const MACHINE_LOCK = join(SOCKET_ROOT, 'real-cluster.lock');
const RECORD = join(SOCKET_ROOT, 'real-cluster.json');

export async function startRealCluster(options: StartRealClusterOptions): Promise<RealCluster> {
  const progress = options.progress ?? (() => {});
  const count = options.nodes;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES)
    throw new ClusterStartError(`Cannot start ${count} nodes: choose 1 to ${MAX_NODES}`);
  assertNodePrerequisites();
  const release = acquireInstanceLock(MACHINE_LOCK, 'a real-node cluster on this machine');
  // Holding the lock, whatever a run killed outright left behind is ours to remove.
  await removeStaleCluster(options.dir);

  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'roost-cluster-'));
  // Unix sockets must stay short (108 bytes), whatever the checkout's path.
  const socketDir = mkdtempSync(join(SOCKET_ROOT, 'sock-'));
  const ownDirs = [dir, socketDir];
  // Should this run be killed outright, the next one finds what to remove here.
  writeFileSync(RECORD, JSON.stringify({ dirs: ownDirs, temporary: !options.dir }));
  mkdirSync(dir, { recursive: true });
  const sysctls = snapshotSysctls();
  const processes: ManagedProcess[] = [];
  const nodes: RealNode[] = [];
  let controlPlane: ControlPlane | undefined;
  let binaries: NodeBinaries | undefined;

  const stop = async () => {
    // Kubelets first, so nothing restarts containers while they are removed.
    await Promise.all(nodes.map((n) => n.kubelet.process.stop(10_000)));
    await Promise.all(nodes.map((n) => removeAllContainers(n.containerd)));
    await Promise.all(nodes.map((n) => n.containerd.process.stop(10_000)));
    for (const child of [...processes].reverse()) await child.stop(5000);
    await cleanUpKubeProxy(binaries?.kubeProxy);
    await controlPlane?.stop();
    removeLeftovers(ownDirs);
    tearDownNetwork();
    restoreSysctls(sysctls);
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
    rmSync(socketDir, { recursive: true, force: true });
    rmSync(RECORD, { force: true });
    release();
  };

  try {
    const started = Date.now();
    const step = async <T>(what: string, work: () => Promise<T> | T): Promise<T> => {
      const stepStarted = Date.now();
      const result = await work();
      progress(`✓ ${what} (${formatDuration(Date.now() - stepStarted)})`);
      return result;
    };

    binaries = await ensureNodeBinaries(progress);
    const nodeBinaries = binaries;
    const networks = await step(`network: ${count} node bridges in 198.18.0.0/15`, () => {
      const result = setUpNetwork(count);
      // Pod traffic crosses from one node's bridge to another's through the host.
      writeSysctl('net/ipv4/ip_forward', '1');
      return result;
    });
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir, { recursive: true });
    const pki = await makeClusterPki(pkiDir);

    const nodeNames = networks.map((_, i) => `node-${i + 1}`);
    const token = () => randomBytes(24).toString('hex');
    const users = {
      scheduler: { token: token(), user: 'system:kube-scheduler', groups: [] },
      proxy: { token: token(), user: 'system:kube-proxy', groups: [] },
      coredns: { token: token(), user: 'roost:coredns', groups: ['system:masters'] },
      kubelets: nodeNames.map((name): StaticTokenUser => ({
        token: token(),
        user: `system:node:${name}`,
        groups: ['system:nodes'],
      })),
    };
    controlPlane = await step('control plane serving real nodes', () =>
      startControlPlane({
        dir: join(dir, 'control-plane'),
        progress,
        realNodes: {
          address: API_SERVER_ADDRESS,
          serviceCidr: SERVICE_CIDR,
          kubeletClientCert: pki.kubeletClient.cert,
          kubeletClientKey: pki.kubeletClient.key,
          tokens: [users.scheduler, users.proxy, users.coredns, ...users.kubelets],
        },
      }),
    );
    const plane = controlPlane;
    const caPem = readFileSync(join(plane.dir, 'certs', 'apiserver.crt'), 'utf8');
    const kubeconfigFor = (name: string, user: StaticTokenUser) => {
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(path, renderKubeconfig({ server: plane.server, caPem, token: user.token }), {
        mode: 0o600,
      });
      return path;
    };

    await step('kube-scheduler, kube-proxy (nftables) and CoreDNS', async () => {
      processes.push(
        startKubeScheduler({
          binary: nodeBinaries.kubeScheduler,
          dir,
          kubeconfig: kubeconfigFor('kube-scheduler', users.scheduler),
        }),
        await startKubeProxy({
          binary: nodeBinaries.kubeProxy,
          dir,
          kubeconfig: kubeconfigFor('kube-proxy', users.proxy),
          nodeName: nodeNames[0]!,
        }),
        startCoreDns({
          binary: nodeBinaries.coredns,
          dir,
          kubeconfig: kubeconfigFor('coredns', users.coredns),
        }),
      );
    });

    const pauseArchive = join(dir, 'pause.tar');
    const pauseImage = await step('pause image (buildah, cached)', async () => {
      const image = await buildPauseImage(nodeBinaries.pause);
      await exportImage(image, pauseArchive);
      return image;
    });

    await step(`${count} nodes: containerd and kubelet each`, () =>
      Promise.all(
        networks.map(async (network, i) => {
          const name = nodeNames[i]!;
          const nodeDir = join(dir, name);
          mkdirSync(nodeDir, { recursive: true });
          const containerd = await startContainerd({
            dir: nodeDir,
            socketDir: join(socketDir, name),
            network,
            sandboxImage: pauseImage,
          });
          await containerd.importImage(pauseArchive);
          const kubelet = await startKubelet({
            binary: nodeBinaries.kubelet,
            nodeName: name,
            dir: nodeDir,
            network,
            containerdSocket: containerd.socket,
            kubeconfig: kubeconfigFor(`kubelet-${name}`, users.kubelets[i]!),
            clientCaFile: pki.ca.cert,
          });
          nodes.push({ name, network, containerd, kubelet });
        }),
      ),
    );

    const admin = plane.client();
    try {
      await step(`${count} nodes Ready`, () => waitForReadyNodes(admin, nodeNames, nodes));
      await step('a test pod ran', () => runTestPod(admin, pauseImage));
    } finally {
      admin.close();
    }
    progress(`cluster of ${count} nodes up in ${formatDuration(Date.now() - started)}`);

    return {
      dir,
      controlPlane: plane,
      kubeconfigPath: plane.kubeconfigPath,
      nodes,
      binaries: nodeBinaries,
      client: () => plane.client(),
      async importImage(archive) {
        await Promise.all(nodes.map((n) => n.containerd.importImage(archive)));
      },
      leftovers: () => findLeftovers(ownDirs),
      stop,
    };
  } catch (err) {
    await stop().catch((stopErr: unknown) =>
      progress(`while stopping after a failed start: ${errorMessage(stopErr)}`),
    );
    if (err instanceof RoostError) throw err;
    throw new ClusterStartError(`Cannot start the cluster: ${errorMessage(err)}`, { cause: err });
  }
}

/** What the running cluster made, for the next run to remove if this one is killed. */
interface ClusterRecord {
  dirs: string[];
  /** Its own temp dir, removed whole; a dir the caller chose is emptied of mounts only. */
  temporary: boolean;
}

/**
 * Removes what a cluster killed outright left: its containers' processes,
 * mounts and folders (from its record), any socket folder, the bridges and
 * kube-proxy's table. Called holding the machine lock, so none of it is live.
 */
async function removeStaleCluster(dir: string | undefined): Promise<void> {
  const stale = readdirSync(SOCKET_ROOT)
    .filter((name) => name.startsWith('sock-'))
    .map((name) => join(SOCKET_ROOT, name));
  let record: ClusterRecord | undefined;
  try {
    record = JSON.parse(readFileSync(RECORD, 'utf8')) as ClusterRecord;
  } catch {
    record = undefined;
  }
  const dirs = [...new Set([...stale, ...(record?.dirs ?? []), ...(dir ? [dir] : [])])];
  removeLeftovers(dirs);
  for (const path of stale) rmSync(path, { recursive: true, force: true });
  if (record?.temporary)
    for (const path of record.dirs) rmSync(path, { recursive: true, force: true });
  rmSync(RECORD, { force: true });
  tearDownNetwork();
  await cleanUpKubeProxy(undefined);
}

/** Kills and removes every container and pod sandbox, whether or not the kubelet is there. */
async function removeAllContainers(containerd: Containerd): Promise<void> {
  if (containerd.process.exit) return;
  const ids = (await containerd.ctr(['containers', 'list', '--quiet']).catch(() => ''))
    .split('\n')
    .filter(Boolean);
  await Promise.all(
    ids.map(async (id) => {
      await containerd.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => {});
      for (let i = 0; i < 50; i++) {
        const removed = await containerd.ctr(['tasks', 'delete', '--force', id]).then(
          () => true,
          (err: unknown) => /not found/.test(errorMessage(err)),
        );
        if (removed) break;
        await sleep(100);
      }
      await containerd.ctr(['containers', 'delete', id]).catch(() => {});
    }),
  );
}

interface NodeList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string; message?: string }[] };
  }[];
}

async function waitForReadyNodes(
  client: KubeClient,
  names: string[],
  nodes: RealNode[],
): Promise<void> {
  const deadline = Date.now() + 90_000;
  let notReady: string[] = names;
  while (Date.now() < deadline) {
    for (const node of nodes)
      for (const part of [node.kubelet, node.containerd]) {
        const { exit, name, stderrTail } = part.process;
        if (exit)
          throw new ClusterStartError(
            `${name} of ${node.name} exited (code ${exit.code}, signal ${exit.signal}); its last lines:\n${stderrTail.join('\n')}`,
          );
      }
    const list = await client.raw<NodeList>('GET', '/api/v1/nodes').catch(() => undefined);
    notReady = names.filter((name) => {
      const node = list?.items.find((n) => n.metadata.name === name);
      return !node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
    if (notReady.length === 0) return;
    await sleep(250);
  }
  throw new ClusterStartError(`Nodes not Ready after 90 s: ${notReady.join(', ')}`);
}

interface PodStatus {
  status?: { phase?: string };
}

/** Proves the whole node path (scheduler, kubelet, containerd, CNI) once before saying ready. */
async function runTestPod(client: KubeClient, image: string): Promise<void> {
  const name = `roost-smoke-${randomBytes(3).toString('hex')}`;
  const path = `/api/v1/namespaces/default/pods`;
  const deadline = Date.now() + 60_000;
  // Refused until the service-account controller has made `default`'s account.
  for (;;) {
    try {
      await client.raw('POST', path, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: {
          containers: [{ name: 'pause', image, imagePullPolicy: 'Never' }],
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
        },
      });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
  try {
    for (;;) {
      const pod = await client.raw<PodStatus>('GET', `${path}/${name}`);
      if (pod.status?.phase === 'Running') return;
      if (Date.now() > deadline)
        throw new ClusterStartError(
          `The test pod default/${name} was not Running after 60 s (phase ${pod.status?.phase ?? 'none'})`,
        );
      await sleep(100);
    }
  } finally {
    await client.raw('DELETE', `${path}/${name}`, { gracePeriodSeconds: 0 }).catch(() => {});
  }
}
