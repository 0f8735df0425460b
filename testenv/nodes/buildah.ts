// Container images without a Docker engine: buildah builds a Containerfile
// (chroot isolation, no daemon) into a store of its own under the Roost cache,
// where layers stay cached between runs, and writes an archive that each
// node's containerd imports.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../binaries.ts';
import { RoostError } from '../../lib/errors.ts';

export class ImageBuildError extends RoostError {
  constructor(message: string) {
    super('ROOST_IMAGE_BUILD', message);
  }
}

/** buildah's store: kept between runs, so an unchanged build is a cache hit. */
const storeRoot = () => join(cacheRoot(), 'buildah');
const storageDir = () => join(storeRoot(), 'storage');

function storeArgs(): string[] {
  const root = storeRoot();
  mkdirSync(root, { recursive: true });
  return [
    '--root',
    storageDir(),
    '--runroot',
    join(root, 'run'),
    '--storage-driver',
    process.env.ROOST_BUILDAH_DRIVER ?? 'overlay',
  ];
}

export function buildah(
  args: string[],
  onLine: (line: string) => void = () => {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('buildah', [...storeArgs(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const tail: string[] = [];
    const collect = (chunk: Buffer, keep: boolean) => {
      const text = chunk.toString();
      if (keep) stdout += text;
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        onLine(line);
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    };
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, true));
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, false));
    child.on('error', (err) =>
      reject(
        new ImageBuildError(`Cannot run buildah (npm run setup:node installs it): ${err.message}`),
      ),
    );
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new ImageBuildError(`buildah ${args[0]} exited ${code}:\n${tail.join('\n')}`));
    });
  });
}

export interface BuildImageOptions {
  containerfile: string;
  context: string;
  tag: string;
  buildArgs?: Record<string, string>;
  onLine?: (line: string) => void;
}

export async function buildImage(options: BuildImageOptions): Promise<void> {
  const buildArgs = Object.entries(options.buildArgs ?? {}).flatMap(([k, v]) => [
    '--build-arg',
    `${k}=${v}`,
  ]);
  await buildah(
    [
      'bud',
      '--isolation',
      'chroot',
      '--layers',
      // A failed step's container is removed too, and with it its mount.
      '--force-rm',
      '--pull-never',
      ...buildArgs,
      '-f',
      options.containerfile,
      '-t',
      options.tag,
      options.context,
    ],
    options.onLine,
  );
}

/** Imports a directory tree as a one-layer image (a base built from local files). */
export async function importRootfs(
  rootfs: string,
  tag: string,
  config: string[] = [],
): Promise<void> {
  const container = (await buildah(['from', '--pull-never', 'scratch'])).trim();
  try {
    await buildah(['copy', container, `${rootfs}/.`, '/']);
    if (config.length > 0) await buildah(['config', ...config, container]);
    await buildah(['commit', '--rm', container, tag]);
  } catch (err) {
    await buildah(['rm', container]).catch(() => {});
    throw err;
  }
}

/** Whether the store holds an image by this reference. */
export async function imageExists(ref: string): Promise<boolean> {
  return buildah(['inspect', '--type', 'image', ref]).then(
    () => true,
    () => false,
  );
}

/**
 * Removes the images no tag reaches any more: every rebuild leaves the old
 * image and its intermediate layers behind, a few hundred MB each time, and
 * a store left to grow fills the disk until the test kubelets evict their
 * pods. The layers of the images still tagged stay, so the cache still hits.
 * Resolves to a reason when some could not go (an image a build killed
 * half-way still holds), since that is no reason to fail the build.
 */
export async function pruneDanglingImages(): Promise<string | undefined> {
  return buildah(['rmi', '--prune']).then(
    () => undefined,
    (err: Error) =>
      err.message.split('\n').find((line) => /in use|error/i.test(line)) ?? err.message,
  );
}

/** Bytes the store takes on disk, its layers and their metadata. */
export function storeBytes(): number {
  const out = execFileSync('du', ['-sb', storageDir()], { encoding: 'utf8' });
  return Number(out.split('\t')[0]);
}

/** A docker-archive that `ctr images import` loads under the image's own name. */
export async function exportImage(tag: string, archive: string): Promise<void> {
  rmSync(archive, { force: true });
  await buildah(['push', '--quiet', tag, `docker-archive:${archive}:${tag}`]);
}
