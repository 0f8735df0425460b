// `npm run setup:node`: what a real node needs from the machine, from Debian
// packages only (no binary from anywhere else). As root on Debian or Ubuntu it
// installs what is missing with apt-get; elsewhere it names the packages.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { RoostError } from '../../lib/errors.ts';

export class MissingPrerequisitesError extends RoostError {
  readonly packages: string[];
  constructor(missing: Prerequisite[]) {
    const packages = [...new Set(missing.map((p) => p.debianPackage))];
    super(
      'ROOST_NODE_PREREQUISITES',
      `Cannot run real nodes: missing ${missing.map((p) => p.what).join(', ')}. Install them with \`sudo apt-get install -y ${packages.join(' ')}\` (Debian or Ubuntu) or your distribution's equivalents, or run \`npm run setup:node\` as root.`,
    );
    this.packages = packages;
  }
}

export class NotRootError extends RoostError {
  constructor() {
    super(
      'ROOST_NODE_NOT_ROOT',
      'Cannot run real nodes: kubelet, containerd and the pod network need root (they create network bridges, mounts and cgroups). Run as root, for example in a VM or CI machine of its own.',
    );
  }
}

interface Prerequisite {
  /** Shown to people: "containerd". */
  what: string;
  /** A file that exists when it is installed. */
  path: string;
  debianPackage: string;
}

/** Everything testenv/nodes/ starts or calls, and the package that brings it. */
export const PREREQUISITES: readonly Prerequisite[] = [
  { what: 'containerd', path: '/usr/bin/containerd', debianPackage: 'containerd' },
  { what: 'ctr', path: '/usr/bin/ctr', debianPackage: 'containerd' },
  {
    what: 'containerd-shim-runc-v2',
    path: '/usr/bin/containerd-shim-runc-v2',
    debianPackage: 'containerd',
  },
  { what: 'runc', path: '/usr/sbin/runc', debianPackage: 'runc' },
  {
    what: 'the CNI bridge plugin',
    path: `${cniBinDir()}/bridge`,
    debianPackage: 'containernetworking-plugins',
  },
  {
    what: 'the CNI host-local plugin',
    path: `${cniBinDir()}/host-local`,
    debianPackage: 'containernetworking-plugins',
  },
  { what: 'buildah', path: '/usr/bin/buildah', debianPackage: 'buildah' },
  { what: 'nft', path: '/usr/sbin/nft', debianPackage: 'nftables' },
  { what: 'conntrack', path: '/usr/sbin/conntrack', debianPackage: 'conntrack' },
  { what: 'ip', path: '/usr/bin/ip', debianPackage: 'iproute2' },
  { what: 'openssl', path: '/usr/bin/openssl', debianPackage: 'openssl' },
];

/** Where Debian's containernetworking-plugins puts the CNI plugins. */
export function cniBinDir(): string {
  return process.env.ROOST_CNI_BIN_DIR ?? '/usr/lib/cni';
}

function installed(p: Prerequisite): boolean {
  // runc and a few others sit in /usr/bin on some distributions, /usr/sbin on others.
  const alternatives = [p.path, p.path.replace('/usr/sbin/', '/usr/bin/')];
  return alternatives.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function missingPrerequisites(): Prerequisite[] {
  return PREREQUISITES.filter((p) => !installed(p));
}

/** Throws a clear error unless this machine can run real nodes right now. */
export function assertNodePrerequisites(): void {
  if (process.getuid?.() !== 0) throw new NotRootError();
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new MissingPrerequisitesError(missing);
}

function run(command: string, args: string[]): void {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0)
    throw new RoostError(
      'ROOST_NODE_SETUP',
      `Cannot install the node prerequisites: ${command} ${args.join(' ')} exited ${result.status ?? result.signal}`,
    );
}

/** Installs what is missing, or throws MissingPrerequisitesError saying what to install. */
export function setupNodePrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing.length === 0) {
    console.log('node prerequisites: all present (containerd, runc, CNI plugins, buildah, nft)');
    return;
  }
  const canApt =
    process.getuid?.() === 0 && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
  if (!canApt) throw new MissingPrerequisitesError(missing);
  const packages = [...new Set(missing.map((p) => p.debianPackage))];
  console.log(`node prerequisites: installing ${packages.join(', ')} with apt-get`);
  run('apt-get', ['update', '-q']);
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages]);
  const still = missingPrerequisites();
  if (still.length > 0) throw new MissingPrerequisitesError(still);
  console.log('node prerequisites: installed');
}

if (import.meta.main) {
  try {
    setupNodePrerequisites();
  } catch (err) {
    if (!(err instanceof RoostError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
