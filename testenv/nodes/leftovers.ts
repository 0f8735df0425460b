// What a stopped cluster must not leave behind, found and removed: mounts
// under its folders (pod network namespaces, shm, volume tmpfs, the kubelet's
// bind mount of its root), containerd shims, pod log links, bridges, and
// kube-proxy's nftables table. The e2e suite asserts that findLeftovers()
// is empty after stop().
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { clusterLinks } from './network.ts';
import { KUBE_PROXY_TABLE } from './addons.ts';

export interface Leftovers {
  mounts: string[];
  processes: { pid: number; command: string }[];
  podLogLinks: string[];
  links: string[];
  nftablesTables: string[];
}

interface Mount {
  /** What is mounted: for a network namespace, "net:[inode]". */
  root: string;
  point: string;
}

/** Mounts at or under any of `dirs`. */
function mountsOf(dirs: string[]): Mount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length > 4)
    .map((fields) => ({
      root: fields[3]!,
      // mountinfo escapes spaces and the like as octal.
      point: fields[4]!.replace(/\\(\d{3})/g, (_, oct: string) =>
        String.fromCharCode(parseInt(oct, 8)),
      ),
    }))
    .filter(({ point }) => dirs.some((dir) => point === dir || point.startsWith(`${dir}/`)));
}

/** Mount points at or under any of `dirs`, deepest first. */
function mountsUnder(dirs: string[]): string[] {
  const points = mountsOf(dirs).map((m) => m.point);
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Processes of the cluster: those whose command line names any of `dirs`
 * (containerd shims name their socket), and those inside a pod network
 * namespace mounted there (the containers, which outlive a killed shim).
 */
function processesUsing(dirs: string[]): { pid: number; command: string }[] {
  const podNetworks = new Set(
    mountsOf(dirs)
      .map((m) => m.root)
      .filter((root) => root.startsWith('net:[')),
  );
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let command: string;
    let network = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (podNetworks.size > 0) network = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      continue;
    }
    if (dirs.some((dir) => command.includes(dir)) || podNetworks.has(network))
      found.push({ pid, command });
  }
  return found;
}

/** The kubelet links each container's log into /var/log/containers, a fixed place. */
const CONTAINER_LOG_LINKS = '/var/log/containers';

function podLogLinksInto(dirs: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(CONTAINER_LOG_LINKS);
  } catch {
    return [];
  }
  return names
    .map((name) => join(CONTAINER_LOG_LINKS, name))
    .filter((link) => {
      try {
        const target = readlinkSync(link);
        return dirs.some((dir) => target.startsWith(`${dir}/`));
      } catch {
        return false;
      }
    });
}

function nftablesTables(): string[] {
  try {
    return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim().endsWith(` ${KUBE_PROXY_TABLE}`))
      .map((line) => line.trim());
  } catch {
    return [];
  }
}

export function findLeftovers(dirs: string[]): Leftovers {
  return {
    mounts: mountsUnder(dirs),
    processes: processesUsing(dirs),
    podLogLinks: podLogLinksInto(dirs),
    links: clusterLinks(),
    nftablesTables: nftablesTables(),
  };
}

export function isClean(leftovers: Leftovers): boolean {
  return Object.values(leftovers).every((list: unknown[]) => list.length === 0);
}

/**
 * Removes what findLeftovers finds, except links and nftables, which
 * tearDownNetwork and cleanUpKubeProxy own: kills stray processes, then
 * unmounts deepest first (lazily when busy), then removes log links.
 */
export function removeLeftovers(dirs: string[]): void {
  for (const { pid } of processesUsing(dirs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  for (const point of mountsUnder(dirs)) {
    try {
      execFileSync('umount', [point], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['--lazy', point], { stdio: 'ignore' });
    }
  }
  for (const link of podLogLinksInto(dirs)) rmSync(link, { force: true });
}
