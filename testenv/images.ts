// `npm run images`: Roost's container images, built here with buildah from
// the Containerfiles in deploy/images/, exactly as a user builds them, except
// for the bases: Docker Hub cannot be reached, so the bases are made locally
// from the project's own Node 24 and this machine's JDK and libraries:
//
//   localhost/roost/base:24        Node 24 at /nodejs/bin/node, its libraries,
//                                  a nonroot user (distroless's layout)
//   localhost/roost/build-base:24  the same plus npm, for `npm ci`
//   localhost/roost/jdk:17         this machine's JDK at /opt/java/openjdk
//
// and, in place of Docker Hub's nats image that the chart runs as the event
// queue, localhost/roost/nats:<version> from the nats-server the tests build.
//
// Then it tags localhost/roost:dev and localhost/roost-java:dev, loads them
// into every node of a running `npm run cluster -- --nodes N`, prints their
// references and sizes, and writes .roost/images-values.yaml, the Helm values
// that point the chart at these images.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { cacheRoot, ensureNats } from './binaries.ts';
import {
  buildah,
  buildImage,
  exportImage,
  imageExists,
  importRootfs,
  pruneDanglingImages,
  storeBytes,
} from './nodes/buildah.ts';
import { buildConsoleUi } from '../console/ui/build.ts';
import { formatDuration } from '../lib/duration.ts';
import { RoostError } from '../lib/errors.ts';

const REPO = join(import.meta.dirname, '..');

export const ROOST_IMAGE = 'localhost/roost:dev';
export const ROOST_JAVA_IMAGE = 'localhost/roost-java:dev';
const NATS_IMAGE_REPOSITORY = 'localhost/roost/nats';
const BASE_IMAGE = 'localhost/roost/base:24';
const BUILD_BASE_IMAGE = 'localhost/roost/build-base:24';
const JDK_IMAGE = 'localhost/roost/jdk:17';
/** distroless's nonroot user, so that the chart's securityContext fits either base. */
const NONROOT_UID = 65532;

export interface BuiltImage {
  ref: string;
  /** Uncompressed, as its archive holds it. */
  bytes: number;
  /** A docker-archive that `ctr images import` loads. */
  archive: string;
}

export interface BuildImagesOptions {
  progress?: (line: string) => void;
  /** Also build the Java image (needs `npm run build:java` first). Default true. */
  java?: boolean;
  /** Also build the event queue's NATS image. Default true. */
  nats?: boolean;
}

/** Shared libraries `binaries` load, by the paths the dynamic linker finds them at. */
function sharedLibraries(binaries: string[]): string[] {
  const found = new Set<string>(['/lib64/ld-linux-x86-64.so.2']);
  for (const binary of binaries) {
    const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
    for (const match of out.matchAll(/=> (\/\S+)/g)) found.add(match[1]!);
  }
  return [...found];
}

function copyInto(rootfs: string, source: string, target = source): void {
  mkdirSync(dirname(join(rootfs, target)), { recursive: true });
  copyFileSync(realpathSync(source), join(rootfs, target));
}

function nodeBinary(): string {
  return realpathSync(join(REPO, 'node_modules', '.bin', 'node'));
}

const JDK_HOME = '/usr/lib/jvm/java-17-openjdk-amd64';
const GLIBC_EXTRAS = [
  '/lib/x86_64-linux-gnu/librt.so.1',
  '/lib/x86_64-linux-gnu/libdl.so.2',
  '/lib/x86_64-linux-gnu/libpthread.so.0',
];

/** The files every local base holds: Node 24, the libraries it and the JVM need, users, CA roots. */
function makeBaseRootfs(rootfs: string): void {
  rmSync(rootfs, { recursive: true, force: true });
  const node = nodeBinary();
  copyInto(rootfs, node, '/nodejs/bin/node');
  const jvmLibraries = existsSync(JDK_HOME)
    ? [join(JDK_HOME, 'lib', 'server', 'libjvm.so'), join(JDK_HOME, 'lib', 'libzip.so')]
    : [];
  for (const library of sharedLibraries([node, ...jvmLibraries]))
    if (!library.startsWith(JDK_HOME)) copyInto(rootfs, library);
  // The rest of glibc that libraries load at run time rather than link:
  // Netty's epoll transport (the JVM bridge's Unix socket) needs librt.
  for (const library of GLIBC_EXTRAS) if (existsSync(library)) copyInto(rootfs, library);
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(
    join(rootfs, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(join(rootfs, 'etc', 'group'), `root:x:0:\nnonroot:x:${NONROOT_UID}:\n`);
  writeFileSync(
    join(rootfs, 'etc', 'nsswitch.conf'),
    'passwd: files\ngroup: files\nhosts: files dns\n',
  );
  const caBundle = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(caBundle)) copyInto(rootfs, caBundle);
  for (const dir of ['tmp', 'root', 'home/nonroot'])
    mkdirSync(join(rootfs, dir), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  execFileSync('chown', [`${NONROOT_UID}:${NONROOT_UID}`, join(rootfs, 'home', 'nonroot')]);
}

/**
 * util-linux's prlimit(1), which the sidecar uses for per-function limits
 * (open files, file size, processes): at the path and with the library that
 * Debian's node:24-bookworm-slim, the public build base, has it. The
 * Containerfile copies it from there into the distroless runtime.
 */
const PRLIMIT = '/usr/bin/prlimit';

function addPrlimit(rootfs: string): void {
  copyInto(rootfs, PRLIMIT);
  for (const library of sharedLibraries([PRLIMIT]))
    if (/libsmartcols/.test(library))
      copyInto(rootfs, library, join('/usr/lib/x86_64-linux-gnu', basename(library)));
}

/** npm from this machine, run by the base's Node 24, only in the build stage. */
function addNpm(rootfs: string): void {
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  cpSync(join(npmRoot, 'npm'), join(rootfs, 'usr', 'local', 'lib', 'node_modules', 'npm'), {
    recursive: true,
  });
  copyInto(rootfs, '/usr/bin/env');
  mkdirSync(join(rootfs, 'usr', 'local', 'bin'), { recursive: true });
  execFileSync('ln', ['-sf', '/nodejs/bin/node', join(rootfs, 'usr', 'local', 'bin', 'node')]);
  execFileSync('ln', [
    '-sf',
    '../lib/node_modules/npm/bin/npm-cli.js',
    join(rootfs, 'usr', 'local', 'bin', 'npm'),
  ]);
}

function addJdk(rootfs: string): void {
  if (!existsSync(join(JDK_HOME, 'jmods')))
    throw new RoostError(
      'ROOST_IMAGE_BUILD',
      `Cannot build the Java image: no JDK 17 with jmods at ${JDK_HOME} (apt-get install openjdk-17-jdk-headless openjdk-17-jmods)`,
    );
  cpSync(JDK_HOME, join(rootfs, 'opt', 'java', 'openjdk'), {
    recursive: true,
    dereference: true,
    // Debian links docs and sources elsewhere; jlink needs neither.
    filter: (source) => existsSync(source) && !/\/(man|docs|demo|src\.zip)$/.test(source),
  });
}

const PATH_ENV = 'PATH=/usr/local/bin:/usr/bin:/bin:/nodejs/bin';

/**
 * A local base is rebuilt only when what goes into it changed, judged by
 * content: a fresh clone's Node binary has a new mtime but the same bytes,
 * and a rebuilt base invalidates every layer above it (and leaves the old
 * ones for the prune to collect).
 */
async function baseIsCurrent(stampFile: string, want: string, refs: string[]): Promise<boolean> {
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== want) return false;
  for (const ref of refs) if (!(await imageExists(ref))) return false;
  return true;
}

function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Version of the recipe below: bump it when the bases' contents change. */
const BASES_RECIPE = 5;

/** Builds the local bases that are missing or stale; the JDK base only when `java`. */
async function buildLocalBases(progress: (line: string) => void, java: boolean): Promise<void> {
  const work = join(cacheRoot(), 'image-bases');
  mkdirSync(work, { recursive: true });
  const nodeStamp = join(work, 'node-bases.json');
  const nodeWant = JSON.stringify({ node: fileDigest(nodeBinary()), recipe: BASES_RECIPE });
  if (await baseIsCurrent(nodeStamp, nodeWant, [BASE_IMAGE, BUILD_BASE_IMAGE])) {
    progress(`  ${BASE_IMAGE}, ${BUILD_BASE_IMAGE}: unchanged (cached)`);
  } else {
    const base = join(work, 'base');
    makeBaseRootfs(base);
    await importRootfs(base, BASE_IMAGE, ['--env', PATH_ENV, '--user', `${NONROOT_UID}`]);
    progress(`  ${BASE_IMAGE}`);
    const buildBase = join(work, 'build-base');
    makeBaseRootfs(buildBase);
    addNpm(buildBase);
    addPrlimit(buildBase);
    // The machine's CA bundle (copied into every base) is how it reaches the
    // npm registry; Node reads it only when told to.
    await importRootfs(buildBase, BUILD_BASE_IMAGE, [
      '--env',
      PATH_ENV,
      '--env',
      'HOME=/root',
      '--env',
      'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
    ]);
    progress(`  ${BUILD_BASE_IMAGE}`);
    for (const dir of ['base', 'build-base'])
      rmSync(join(work, dir), { recursive: true, force: true });
    writeFileSync(nodeStamp, nodeWant);
  }
  if (!java) return;
  const jdkStamp = join(work, 'jdk-base.json');
  const jdkWant = JSON.stringify({
    node: nodeWant,
    jdk: existsSync(join(JDK_HOME, 'release')) ? fileDigest(join(JDK_HOME, 'release')) : 'none',
    recipe: BASES_RECIPE,
  });
  if (await baseIsCurrent(jdkStamp, jdkWant, [JDK_IMAGE])) {
    progress(`  ${JDK_IMAGE}: unchanged (cached)`);
    return;
  }
  const jdk = join(work, 'jdk');
  makeBaseRootfs(jdk);
  addJdk(jdk);
  await importRootfs(jdk, JDK_IMAGE, ['--env', PATH_ENV]);
  progress(`  ${JDK_IMAGE}`);
  rmSync(jdk, { recursive: true, force: true });
  writeFileSync(jdkStamp, jdkWant);
}

/** nats-server alone with the C library it links, as upstream's image has it: entrypoint /nats-server. */
async function buildNatsImage(progress: (line: string) => void): Promise<string> {
  const natsServer = await ensureNats(progress);
  const version = /nats-(v[\d.]+)-/.exec(basename(dirname(natsServer)))?.[1] ?? 'dev';
  const ref = `${NATS_IMAGE_REPOSITORY}:${version.slice(1)}`;
  if (await imageExists(ref)) {
    progress(`  ${ref}: unchanged (cached)`);
    return ref;
  }
  const rootfs = join(cacheRoot(), 'image-bases', 'nats');
  rmSync(rootfs, { recursive: true, force: true });
  try {
    copyInto(rootfs, natsServer, '/nats-server');
    for (const library of sharedLibraries([natsServer])) copyInto(rootfs, library);
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(
      join(rootfs, 'etc', 'passwd'),
      `nonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/:/sbin/nologin\n`,
    );
    mkdirSync(join(rootfs, 'tmp'), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    await importRootfs(rootfs, ref, [
      '--entrypoint',
      '["/nats-server"]',
      '--user',
      `${NONROOT_UID}`,
      '--port',
      '4222',
    ]);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  return ref;
}

export async function buildImages(options: BuildImagesOptions = {}): Promise<BuiltImage[]> {
  const progress = options.progress ?? (() => {});
  const java = options.java ?? true;
  const bridgeJar = join(REPO, 'runtime-java-bridge', 'bridge', 'target', 'roost-java-bridge.jar');
  if (java && !existsSync(bridgeJar))
    throw new RoostError(
      'ROOST_IMAGE_BUILD',
      `Cannot build the Java image: ${bridgeJar} is missing; run \`npm run build:java\` first`,
    );
  const timed = async (what: string, work: () => Promise<void>) => {
    const started = Date.now();
    progress(`${what} ...`);
    await work();
    progress(`${what} done in ${formatDuration(Date.now() - started)}`);
  };
  await timed('local bases', () => buildLocalBases(progress, java));
  // The image copies the console's built front end from here (it has no esbuild).
  await timed('console front end', () => buildConsoleUi({ quiet: true }));
  await timed(`build ${ROOST_IMAGE}`, () =>
    buildImage({
      containerfile: join(REPO, 'deploy', 'images', 'roost.Containerfile'),
      context: REPO,
      tag: ROOST_IMAGE,
      buildArgs: { BUILD_IMAGE: BUILD_BASE_IMAGE, BASE_IMAGE },
    }),
  );
  const refs = [ROOST_IMAGE];
  if (options.nats ?? true) {
    let natsRef = '';
    await timed('build the event queue image', async () => {
      natsRef = await buildNatsImage(progress);
    });
    refs.push(natsRef);
  }
  if (java) {
    await timed(`build ${ROOST_JAVA_IMAGE}`, () =>
      buildImage({
        containerfile: join(REPO, 'deploy', 'images', 'roost-java.Containerfile'),
        context: REPO,
        tag: ROOST_JAVA_IMAGE,
        buildArgs: { ROOST_IMAGE, JDK_IMAGE },
      }),
    );
    refs.push(ROOST_JAVA_IMAGE);
  }
  const built: BuiltImage[] = [];
  await timed('export archives', async () => {
    for (const ref of refs) built.push(await exportArchive(ref));
  });
  await timed('prune the images no tag reaches', async () => {
    const kept = await pruneDanglingImages();
    if (kept) progress(`  some stayed: ${kept}`);
    progress(`  the image store holds ${(storeBytes() / 2 ** 20).toFixed(0)} MiB`);
  });
  return built;
}

/**
 * The same images under another tag, exported for loading into nodes: what a
 * release of a new version looks like to the cluster (a `helm upgrade` to a
 * new image tag rolls every component).
 */
export async function retagImages(images: BuiltImage[], tag: string): Promise<BuiltImage[]> {
  const retagged: BuiltImage[] = [];
  for (const image of images) {
    const ref = `${image.ref.slice(0, image.ref.lastIndexOf(':'))}:${tag}`;
    await buildah(['tag', image.ref, ref]);
    retagged.push(await exportArchive(ref));
  }
  return retagged;
}

/** The image `ref` as a docker-archive in the cache, which `ctr images import` loads. */
async function exportArchive(ref: string): Promise<BuiltImage> {
  const archives = join(cacheRoot(), 'image-archives');
  mkdirSync(archives, { recursive: true });
  const archive = join(archives, `${ref.replace(/[/:]/g, '_')}.tar`);
  await exportImage(ref, archive);
  return { ref, bytes: statSync(archive).size, archive };
}

/** Helm values that make the chart run exactly these images, never pulled. */
export function imagesValues(images: BuiltImage[]): string {
  const split = (ref: string) => {
    const at = ref.lastIndexOf(':');
    return { repository: ref.slice(0, at), tag: ref.slice(at + 1), pullPolicy: 'Never' };
  };
  const roost = images.find((i) => i.ref === ROOST_IMAGE);
  const javaImage = images.find((i) => i.ref === ROOST_JAVA_IMAGE);
  const nats = images.find((i) => i.ref.startsWith(`${NATS_IMAGE_REPOSITORY}:`));
  return stringify({
    ...(roost ? { image: split(roost.ref) } : {}),
    ...(javaImage ? { javaImage: split(javaImage.ref) } : {}),
    ...(nats ? { events: { nats: { image: split(nats.ref) } } } : {}),
  });
}

/** The nodes of a running `npm run cluster -- --nodes N`, as it records them. */
interface RunningCluster {
  nodes: { name: string; containerdSocket: string }[];
}

if (import.meta.main) {
  const started = Date.now();
  try {
    const images = await buildImages({ progress: (line) => console.log(line) });
    const stateDir = join(process.cwd(), '.roost');
    mkdirSync(stateDir, { recursive: true });
    const clusterFile = join(stateDir, 'cluster.json');
    if (existsSync(clusterFile)) {
      const cluster = JSON.parse(readFileSync(clusterFile, 'utf8')) as RunningCluster;
      for (const node of cluster.nodes)
        for (const image of images)
          execFileSync('ctr', [
            '--address',
            node.containerdSocket,
            '--namespace',
            'k8s.io',
            'images',
            'import',
            '--all-platforms',
            image.archive,
          ]);
      console.log(`loaded into ${cluster.nodes.map((n) => n.name).join(', ')}`);
    } else console.log('no running `npm run cluster -- --nodes N` to load them into');
    writeFileSync(join(stateDir, 'images-values.yaml'), imagesValues(images));
    console.log(`\n${'IMAGE'.padEnd(32)}SIZE`);
    for (const image of images)
      console.log(`${image.ref.padEnd(32)}${(image.bytes / 1024 / 1024).toFixed(0)} MiB`);
    console.log(
      `\nimages ready in ${formatDuration(Date.now() - started)}; Helm values in .roost/images-values.yaml`,
    );
  } catch (err) {
    if (!(err instanceof RoostError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
