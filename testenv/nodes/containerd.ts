// One containerd per node, as each node of a real cluster has its own: its own
// root, state, socket and CNI configuration, so that several nodes share this
// machine without seeing each other's containers.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { RoostError } from '../../lib/errors.ts';
import { sleep } from '../../lib/duration.ts';
import type { NodeNetwork } from './network.ts';
import { cniBinDir } from './prerequisites.ts';

const execFileAsync = promisify(execFile);

/** The CRI namespace kubelet's containers live in. */
export const CRI_NAMESPACE = 'k8s.io';

export class ContainerdError extends RoostError {
  constructor(message: string) {
    super('ROOST_CLUSTER_CONTAINERD', message);
  }
}

export interface ContainerdOptions {
  /** The node's folder; containerd's root and state go under it. */
  dir: string;
  /** Unix socket paths must stay under 108 bytes, so they live in a short folder. */
  socketDir: string;
  network: NodeNetwork;
  /** The pause image every pod sandbox starts from (already imported). */
  sandboxImage: string;
}

export interface Containerd {
  readonly socket: string;
  readonly process: ManagedProcess;
  /** `ctr` against this containerd, in the CRI namespace. */
  ctr(args: string[]): Promise<string>;
  importImage(archive: string): Promise<void>;
}

function configToml(options: ContainerdOptions, socket: string): string {
  const { dir } = options;
  // restrict_oom_score_adj: containerd asks runc for -998, which this
  // machine refuses ("can't get final child's PID from pipe"); restricted,
  // containerd clamps the value to its own.
  return `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${options.sandboxImage}"
  restrict_oom_score_adj = true
  # Pod network namespaces under the node's own folder, not /var/run/netns,
  # so that a stop finds and removes every one of them.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "${cniBinDir()}"
  conf_dir = "${join(dir, 'cni')}"

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;
}

/**
 * The node's pod network: a bridge per node holding the node's address,
 * host-local addresses from its /24, and no masquerade (the range never
 * leaves the machine). hairpinMode lets a pod reach itself through a Service.
 */
function cniConfig(network: NodeNetwork, dir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'roost',
      plugins: [
        {
          type: 'bridge',
          bridge: network.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: join(dir, 'cni-ipam'),
            ranges: [[{ subnet: network.podSubnet, gateway: network.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  );
}

export async function startContainerd(options: ContainerdOptions): Promise<Containerd> {
  const { dir } = options;
  mkdirSync(join(dir, 'cni'), { recursive: true });
  mkdirSync(options.socketDir, { recursive: true });
  const socket = join(options.socketDir, 'containerd.sock');
  writeFileSync(join(dir, 'containerd.toml'), configToml(options, socket));
  writeFileSync(join(dir, 'cni', '10-roost.conflist'), cniConfig(options.network, dir));
  const child = startProcess({
    name: `containerd ${options.network.bridge}`,
    // setpriv's parent-death signal: containerd goes if this process is killed outright.
    command: 'setpriv',
    args: ['--pdeathsig', 'TERM', '--', 'containerd', '--config', join(dir, 'containerd.toml')],
    logFile: join(dir, 'containerd.log'),
    // The cluster's folder goes when a start fails; the error keeps the last lines.
    keepStderrLines: 15,
  });
  const ctr = async (args: string[]) => {
    const { stdout } = await execFileAsync(
      'ctr',
      ['--address', socket, '--namespace', CRI_NAMESPACE, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exit)
      throw new ContainerdError(
        `containerd for ${options.network.bridge} exited (code ${child.exit.code}) before it answered; see ${join(dir, 'containerd.log')}`,
      );
    try {
      await ctr(['version']);
      break;
    } catch (err) {
      if (Date.now() > deadline)
        throw new ContainerdError(
          `containerd for ${options.network.bridge} did not answer on ${socket} within 30 s: ${String(err)}`,
        );
      await sleep(100);
    }
  }
  return {
    socket,
    process: child,
    ctr,
    async importImage(archive) {
      await ctr(['images', 'import', '--all-platforms', archive]);
    },
  };
}
