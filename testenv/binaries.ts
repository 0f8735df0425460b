// Builds etcd, kube-apiserver and kube-controller-manager from the Go module
// proxy (testenv/go/) once, and caches them outside the repository, keyed by
// the Kubernetes and etcd versions and a digest of the Go sources. The first
// build takes several minutes on two cores; every step says what it does and
// how long it took, and a heartbeat shows it is still going.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { RoostError } from '../lib/errors.ts';
import { formatDuration } from '../lib/duration.ts';

const GO_ROOT = join(import.meta.dirname, 'go');

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubernetesVersion: string;
  etcdVersion: string;
}

export class BinaryBuildError extends RoostError {
  constructor(message: string) {
    super('ROOST_TESTENV_BUILD', message);
  }
}

function requiredVersion(goMod: string, module: string): string {
  const text = readFileSync(join(GO_ROOT, goMod), 'utf8');
  const match = new RegExp(
    `^\\s*(?:require\\s+)?${module.replaceAll('.', '\\.')}\\s+(v\\S+)`,
    'm',
  ).exec(text);
  if (!match?.[1])
    throw new BinaryBuildError(`Cannot read the version of ${module} from testenv/go/${goMod}`);
  return match[1];
}

/** A digest of every Go source file, so that editing a wrapper main rebuilds. */
function sourceDigest(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(go|mod|sum)$/.test(entry.name))
        hash.update(relative(GO_ROOT, path)).update(readFileSync(path));
    }
  };
  walk(GO_ROOT);
  return hash.digest('hex').slice(0, 12);
}

export function cacheRoot(): string {
  if (process.env.ROOST_CACHE_DIR) return process.env.ROOST_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'roost');
}

function binariesIn(
  dir: string,
  kubernetesVersion: string,
  etcdVersion: string,
): ControlPlaneBinaries {
  return {
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubernetesVersion,
    etcdVersion,
  };
}

/** Where the binaries for the current sources live, built or not. */
export function expectedBinaries(): ControlPlaneBinaries & { dir: string } {
  const kubernetesVersion = requiredVersion('kube/go.mod', 'k8s.io/kubernetes');
  const etcdVersion = requiredVersion('etcd/go.mod', 'go.etcd.io/etcd/server/v3');
  const dir = join(
    cacheRoot(),
    'testenv',
    `kubernetes-${kubernetesVersion}-etcd-${etcdVersion}-${sourceDigest()}`,
  );
  return { dir, ...binariesIn(dir, kubernetesVersion, etcdVersion) };
}

function allExist(b: ControlPlaneBinaries): boolean {
  return [b.etcd, b.kubeApiserver, b.kubeControllerManager].every(
    (p) => existsSync(p) && statSync(p).size > 0,
  );
}

type Progress = (line: string) => void;

/**
 * Returns the control-plane binaries, building them first if this version has
 * never been built on this machine.
 */
export async function ensureBinaries(
  progress: Progress = (l) => console.error(l),
): Promise<ControlPlaneBinaries> {
  const expected = expectedBinaries();
  if (allExist(expected)) return expected;

  const { kubernetesVersion: kube, etcdVersion: etcd } = expected;
  const started = Date.now();
  progress(`Building Kubernetes ${kube} and etcd ${etcd} from the Go module proxy.`);
  progress(
    `This happens once per version and takes several minutes (about 8 to 9 on 2 cores, longer on a busy machine); the result is cached in ${expected.dir}.`,
  );
  const staging = `${expected.dir}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const [major, minor] = kube.replace(/^v/, '').split('.');
  const ldflags = [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=${kube}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
    `-X k8s.io/component-base/version.buildDate=${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  ].join(' ');
  const steps: { title: string; cwd: string; args: string[] }[] = [
    { title: 'download Kubernetes modules', cwd: 'kube', args: ['mod', 'download'] },
    { title: 'download etcd modules', cwd: 'etcd', args: ['mod', 'download'] },
    {
      title: 'build kube-apiserver (the longest step)',
      cwd: 'kube',
      args: [
        'build',
        '-v',
        '-trimpath',
        '-ldflags',
        ldflags,
        '-o',
        join(staging, 'kube-apiserver'),
        './cmd/kube-apiserver',
      ],
    },
    {
      title: 'build kube-controller-manager',
      cwd: 'kube',
      args: [
        'build',
        '-v',
        '-trimpath',
        '-ldflags',
        ldflags,
        '-o',
        join(staging, 'kube-controller-manager'),
        './cmd/kube-controller-manager',
      ],
    },
    {
      title: 'build etcd',
      cwd: 'etcd',
      args: ['build', '-v', '-trimpath', '-ldflags', '-s -w', '-o', join(staging, 'etcd'), '.'],
    },
  ];
  for (const [index, step] of steps.entries()) {
    const label = `[${index + 1}/${steps.length}] ${step.title}`;
    progress(`${label} ...`);
    const stepStarted = Date.now();
    await runGo(step.args, join(GO_ROOT, step.cwd), label, progress);
    progress(`${label} done in ${formatDuration(Date.now() - stepStarted)}`);
  }
  rmSync(expected.dir, { recursive: true, force: true });
  renameSync(staging, expected.dir);
  progress(`Kubernetes ${kube} and etcd ${etcd} built in ${formatDuration(Date.now() - started)}.`);
  return expected;
}

function runGo(args: string[], cwd: string, label: string, progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let packages = 0;
    const tail: string[] = [];
    const child = spawn('go', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    // `go build -v` names each package as it compiles: count them for the heartbeat.
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        packages++;
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const heartbeat = setInterval(() => {
      const what = args[0] === 'build' ? `, ${packages} packages compiled` : '';
      progress(`${label}: still working (${formatDuration(Date.now() - started)}${what})`);
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(heartbeat);
      reject(new BinaryBuildError(`Cannot run go (is Go installed and on PATH?): ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(heartbeat);
      if (code === 0) resolve();
      else
        reject(
          new BinaryBuildError(
            `${label} failed (go ${args[0]} exited ${code}):\n${tail.join('\n')}`,
          ),
        );
    });
  });
}

if (import.meta.main) {
  const binaries = await ensureBinaries();
  console.error(`control-plane binaries ready: ${binaries.kubeApiserver}`);
}
