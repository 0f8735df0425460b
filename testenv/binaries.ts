// Builds etcd, kube-apiserver and kube-controller-manager (and, for real
// nodes, kubelet, kube-scheduler, kube-proxy, CoreDNS and pause) from the Go
// module proxy (testenv/go/) once, and caches them outside the repository,
// keyed by the versions and a digest of the Go sources. The first
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

/**
 * A digest of the Go sources under `modules` (folders of testenv/go/), so
 * that editing a wrapper main rebuilds what it goes into, and nothing else.
 */
function sourceDigest(modules: string[]): string {
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
  for (const module of modules) walk(join(GO_ROOT, module));
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
    `kubernetes-${kubernetesVersion}-etcd-${etcdVersion}-${sourceDigest(['kube', 'etcd', 'parentdeath'])}`,
  );
  return { dir, ...binariesIn(dir, kubernetesVersion, etcdVersion) };
}

function allExist(b: ControlPlaneBinaries): boolean {
  return [b.etcd, b.kubeApiserver, b.kubeControllerManager].every(
    (p) => existsSync(p) && statSync(p).size > 0,
  );
}

type Progress = (line: string) => void;

/** One `go` invocation of a build, as a person reads it in the progress lines. */
interface BuildStep {
  title: string;
  /** A folder under testenv/go/. */
  cwd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `steps` into a staging folder and renames it to `dir` at the end, so a
 * build that fails or is interrupted never leaves a half-filled cache entry.
 */
async function buildInto(
  dir: string,
  what: string,
  steps: (staging: string) => BuildStep[],
  progress: Progress,
): Promise<void> {
  const started = Date.now();
  const staging = `${dir}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const list = steps(staging);
  for (const [index, step] of list.entries()) {
    const label = `[${index + 1}/${list.length}] ${step.title}`;
    progress(`${label} ...`);
    const stepStarted = Date.now();
    await runGo(step.args, join(GO_ROOT, step.cwd), label, progress, step.env);
    progress(`${label} done in ${formatDuration(Date.now() - stepStarted)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  progress(`${what} built in ${formatDuration(Date.now() - started)}.`);
}

/** `-ldflags` that give a Kubernetes binary the version string upstream's build stamps. */
function kubernetesLdflags(version: string): string {
  const [major, minor] = version.replace(/^v/, '').split('.');
  return [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=${version}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
    `-X k8s.io/component-base/version.buildDate=${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  ].join(' ');
}

function goBuild(output: string, pkg: string, ldflags = '-s -w'): string[] {
  return ['build', '-v', '-trimpath', '-ldflags', ldflags, '-o', output, pkg];
}

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
  progress(`Building Kubernetes ${kube} and etcd ${etcd} from the Go module proxy.`);
  progress(
    `This happens once per version and takes several minutes (about 8 to 9 on 2 cores, longer on a busy machine); the result is cached in ${expected.dir}.`,
  );
  const ldflags = kubernetesLdflags(kube);
  await buildInto(
    expected.dir,
    `Kubernetes ${kube} and etcd ${etcd}`,
    (staging) => [
      { title: 'download Kubernetes modules', cwd: 'kube', args: ['mod', 'download'] },
      { title: 'download etcd modules', cwd: 'etcd', args: ['mod', 'download'] },
      {
        title: 'build kube-apiserver (the longest step)',
        cwd: 'kube',
        args: goBuild(join(staging, 'kube-apiserver'), './cmd/kube-apiserver', ldflags),
      },
      {
        title: 'build kube-controller-manager',
        cwd: 'kube',
        args: goBuild(
          join(staging, 'kube-controller-manager'),
          './cmd/kube-controller-manager',
          ldflags,
        ),
      },
      { title: 'build etcd', cwd: 'etcd', args: goBuild(join(staging, 'etcd'), '.') },
    ],
    progress,
  );
  return expected;
}

/** What a real node runs beside containerd, and the cluster add-ons built with it. */
export interface NodeBinaries {
  kubelet: string;
  kubeScheduler: string;
  kubeProxy: string;
  coredns: string;
  /** A static program for the pause image (testenv/go/pause). */
  pause: string;
  kubernetesVersion: string;
  corednsVersion: string;
}

export function expectedNodeBinaries(): NodeBinaries & { dir: string } {
  const kubernetesVersion = requiredVersion('kube/go.mod', 'k8s.io/kubernetes');
  const corednsVersion = requiredVersion('coredns/go.mod', 'github.com/coredns/coredns');
  const dir = join(
    cacheRoot(),
    'testenv',
    `nodes-kubernetes-${kubernetesVersion}-coredns-${corednsVersion}-${sourceDigest(['kube', 'coredns', 'pause', 'parentdeath'])}`,
  );
  return {
    dir,
    kubelet: join(dir, 'kubelet'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubeProxy: join(dir, 'kube-proxy'),
    coredns: join(dir, 'coredns'),
    pause: join(dir, 'pause'),
    kubernetesVersion,
    corednsVersion,
  };
}

/**
 * Returns kubelet, kube-scheduler, kube-proxy, CoreDNS and pause, building
 * them first when needed. They share most packages with kube-apiserver, so
 * after the control plane this takes minutes, not the first build's ten.
 */
export async function ensureNodeBinaries(
  progress: Progress = (l) => console.error(l),
): Promise<NodeBinaries> {
  const expected = expectedNodeBinaries();
  const files = [
    expected.kubelet,
    expected.kubeScheduler,
    expected.kubeProxy,
    expected.coredns,
    expected.pause,
  ];
  if (files.every((p) => existsSync(p) && statSync(p).size > 0)) return expected;

  const { kubernetesVersion: kube, corednsVersion: coredns } = expected;
  progress(
    `Building kubelet, kube-scheduler and kube-proxy ${kube}, CoreDNS ${coredns} and pause from the Go module proxy.`,
  );
  progress(
    `This happens once per version (about 4 minutes on 2 cores after the control plane); the result is cached in ${expected.dir}.`,
  );
  const ldflags = kubernetesLdflags(kube);
  await buildInto(
    expected.dir,
    `Node binaries for Kubernetes ${kube}`,
    (staging) => [
      { title: 'download CoreDNS modules', cwd: 'coredns', args: ['mod', 'download'] },
      {
        title: 'build kubelet (the longest step)',
        cwd: 'kube',
        args: goBuild(join(staging, 'kubelet'), './cmd/kubelet', ldflags),
      },
      {
        title: 'build kube-scheduler',
        cwd: 'kube',
        args: goBuild(join(staging, 'kube-scheduler'), './cmd/kube-scheduler', ldflags),
      },
      {
        title: 'build kube-proxy',
        cwd: 'kube',
        args: goBuild(join(staging, 'kube-proxy'), './cmd/kube-proxy', ldflags),
      },
      {
        title: 'build CoreDNS',
        cwd: 'coredns',
        args: goBuild(
          join(staging, 'coredns'),
          '.',
          `-s -w -X github.com/coredns/coredns/coremain.GitCommit=${coredns}`,
        ),
      },
      {
        // Static, because it runs alone in a FROM-scratch image.
        title: 'build pause',
        cwd: 'pause',
        args: goBuild(join(staging, 'pause'), '.'),
        env: { ...process.env, CGO_ENABLED: '0' },
      },
    ],
    progress,
  );
  return expected;
}

function runGo(
  args: string[],
  cwd: string,
  label: string,
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let packages = 0;
    const tail: string[] = [];
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Helm 3, for installing Roost's chart in the real-node suite and docs. */
export async function ensureHelm(progress: Progress = (l) => console.error(l)): Promise<string> {
  const version = requiredVersion('helm/go.mod', 'helm.sh/helm/v3');
  const dir = join(cacheRoot(), 'testenv', `helm-${version}-${sourceDigest(['helm'])}`);
  const helm = join(dir, 'helm');
  if (existsSync(helm) && statSync(helm).size > 0) return helm;
  progress(`Building Helm ${version} from the Go module proxy (once; 2 to 4 minutes on 2 cores).`);
  await buildInto(
    dir,
    `Helm ${version}`,
    (staging) => [
      { title: 'download Helm modules', cwd: 'helm', args: ['mod', 'download'] },
      {
        title: 'build helm',
        cwd: 'helm',
        args: goBuild(
          join(staging, 'helm'),
          'helm.sh/helm/v3/cmd/helm',
          `-s -w -X helm.sh/helm/v3/internal/version.version=${version}`,
        ),
      },
    ],
    progress,
  );
  return helm;
}

/**
 * nats-server with JetStream: the durable queue of asynchronous invocations in
 * `roost dev` and the tests (testenv/go/nats). Cached like the others, keyed by
 * its version and a digest of its module alone.
 */
export async function ensureNats(progress: Progress = (l) => console.error(l)): Promise<string> {
  const version = requiredVersion('nats/go.mod', 'github.com/nats-io/nats-server/v2');
  const dir = join(
    cacheRoot(),
    'testenv',
    `nats-${version}-${sourceDigest(['nats', 'parentdeath'])}`,
  );
  const nats = join(dir, 'nats-server');
  if (existsSync(nats) && statSync(nats).size > 0) return nats;
  progress(
    `Building nats-server ${version} from the Go module proxy (once; under a minute on 2 cores).`,
  );
  await buildInto(
    dir,
    `nats-server ${version}`,
    (staging) => [
      { title: 'download NATS modules', cwd: 'nats', args: ['mod', 'download'] },
      { title: 'build nats-server', cwd: 'nats', args: goBuild(join(staging, 'nats-server'), '.') },
    ],
    progress,
  );
  return nats;
}

if (import.meta.main) {
  const binaries = await ensureBinaries();
  console.error(`control-plane binaries ready: ${binaries.kubeApiserver}`);
  console.error(`nats-server ready: ${await ensureNats()}`);
  if (process.argv.includes('--nodes')) {
    const nodes = await ensureNodeBinaries();
    console.error(`node binaries ready: ${nodes.kubelet}`);
  }
}
