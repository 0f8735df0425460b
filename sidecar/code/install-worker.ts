// Runs on a piscina worker thread: hashing and unpacking archives are CPU work
// that would otherwise stall the sidecar's event loop, and with it every
// invocation it is serving.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extract } from 'tar';

export interface InstallTask {
  /** The archive: a file on disk or base64 text (from a ConfigMap). */
  source: { file: string } | { base64: string };
  /** tgz: unpacked into the directory; jar: stored as function.jar. */
  format: 'tgz' | 'jar';
  cacheDir: string;
}

export interface InstallResult {
  /** Hex SHA-256 of the archive bytes; the cache directory's name. */
  digest: string;
  /** False if another Sandbox had installed the same code already. */
  installed: boolean;
}

export class UnsafeArchiveError extends Error {
  override name = 'UnsafeArchiveError';
}

export default async function install(task: InstallTask): Promise<InstallResult> {
  const bytes = 'base64' in task.source ? Buffer.from(task.source.base64, 'base64') : undefined;
  const digest = bytes
    ? createHash('sha256').update(bytes).digest('hex')
    : await hashFile((task.source as { file: string }).file);
  const target = join(task.cacheDir, digest);
  if (existsSync(target)) return { digest, installed: false };

  const staging = join(task.cacheDir, `.staging-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    let archive = 'file' in task.source ? task.source.file : '';
    if (bytes) {
      archive = `${staging}.archive`;
      await writeFile(archive, bytes);
    }
    if (task.format === 'jar') {
      await copyFile(archive, join(staging, 'function.jar'));
    } else {
      await unpack(archive, staging);
    }
    if (bytes) await rm(archive, { force: true });
    try {
      await rename(staging, target);
      return { digest, installed: true };
    } catch (err) {
      // Another worker installed the same digest first: theirs is identical.
      if (existsSync(target)) return { digest, installed: false };
      throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Hex SHA-256 of a file, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/**
 * Unpacks a gzipped tarball, refusing links (a symbolic link in function code
 * could point a function at another's files) and anything that would land
 * outside the directory. An npm-pack style archive (all under package/) is
 * unwrapped.
 */
async function unpack(archive: string, dir: string): Promise<void> {
  const refused: string[] = [];
  await extract({
    file: archive,
    cwd: dir,
    strict: true,
    preservePaths: false,
    filter: (path, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      const ok =
        type === 'File' || type === 'Directory' || type === 'OldFile' || type === 'ContiguousFile';
      if (!ok) refused.push(`${path} (${type})`);
      return ok;
    },
  });
  if (refused.length > 0) {
    throw new UnsafeArchiveError(
      `the archive holds entries that are not plain files or directories: ${refused.slice(0, 5).join(', ')}`,
    );
  }
  const top = await readdir(dir);
  if (top.length === 1 && top[0] === 'package') {
    const inner = join(dir, 'package');
    for (const name of await readdir(inner)) await rename(join(inner, name), join(dir, name));
    await rm(inner, { recursive: true });
  }
}
