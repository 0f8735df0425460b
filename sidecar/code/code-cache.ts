// Function code on the host pod's disk, one copy per content digest, shared by
// every Sandbox of the same function and removed when the last one is
// unplugged. Code comes inline, from an immutable ConfigMap (a .tgz or a jar in
// binaryData), or from a url whose bytes must match the given sha256.
import { codeCacheHits, codeFetches } from '../metrics.ts';
import { createHash, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Piscina } from 'piscina';
import type { KubeClient } from '../../kube/client.ts';
import { ConfigMaps } from '../../kube/api/resources.ts';
import type { Sandbox } from '../../kube/api/roost.ts';
import { isNotFound } from '../../kube/errors.ts';
import { errorMessage } from '../../lib/errors.ts';
import { PlugError, codeDigestMismatch, codeFetchFailed, codeInvalid } from '../errors.ts';
import type { InstallResult, InstallTask } from './install-worker.ts';

/** ConfigMap code up to this size (256 KiB of base64) is hashed on the event loop: well under a millisecond. */
const HASH_HERE_MAX_BASE64 = 256 * 1024;

export interface CodeRef {
  digest: string;
  /** For nodejs the unpacked files; for java a directory holding function.jar. */
  dir: string;
}

export interface CodeCacheOptions {
  dir: string;
  client: KubeClient;
  /** Largest download accepted (default 512 MiB). */
  maxDownloadBytes?: number;
  downloadTimeoutMs?: number;
  /** How long unused code stays on disk in case it is plugged again (default 30 s). */
  keepUnusedMs?: number;
}

type CodeSource = 'inline' | 'url' | 'configMap';

export class CodeCache {
  readonly #dir: string;
  readonly #client: KubeClient;
  readonly #maxDownloadBytes: number;
  readonly #downloadTimeoutMs: number;
  readonly #keepUnusedMs: number;
  readonly #workers: Piscina<InstallTask, InstallResult>;
  /** digest -> the Sandboxes (by uid) using it. */
  readonly #users = new Map<string, Set<string>>();
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(options: CodeCacheOptions) {
    this.#dir = options.dir;
    this.#client = options.client;
    this.#maxDownloadBytes = options.maxDownloadBytes ?? 512 * 1024 * 1024;
    this.#downloadTimeoutMs = options.downloadTimeoutMs ?? 60_000;
    this.#keepUnusedMs = options.keepUnusedMs ?? 30_000;
    this.#workers = new Piscina({
      filename: new URL('./install-worker.ts', import.meta.url).href,
      minThreads: 1,
      maxThreads: 2,
      idleTimeout: 60_000,
    });
  }

  /** Starts the worker thread now, so the first plug does not pay for it. */
  async warmUp(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await this.#workers
      .run({ source: { base64: '' }, format: 'jar', cacheDir: join(this.#dir, '.warm-up') })
      .catch(() => undefined);
    await rm(join(this.#dir, '.warm-up'), { recursive: true, force: true });
  }

  /** The code of a Sandbox on local disk, fetched and verified if not there yet. */
  async acquire(sandbox: Sandbox): Promise<CodeRef> {
    for (let attempt = 1; ; attempt++) {
      const digest = await this.#fetch(sandbox);
      // Checked and claimed in one step: the sweep of unused code moves a
      // directory away in one step too, so it cannot take code between the
      // two. Code it took while this fetch ran is fetched once more.
      if (!existsSync(join(this.#dir, digest)) && attempt < 3) continue;
      let users = this.#users.get(digest);
      if (!users) this.#users.set(digest, (users = new Set()));
      users.add(sandbox.metadata.uid!);
      return { digest, dir: join(this.#dir, digest) };
    }
  }

  /**
   * Drops a Sandbox's use of its code. The files go once nothing has used them
   * for keepUnusedMs: a replacement Sandbox of the same function, plugged a
   * moment later, finds them still there.
   */
  release(uid: string, digest: string): void {
    const users = this.#users.get(digest);
    users?.delete(uid);
    if (users && users.size > 0) return;
    const timer = setTimeout(() => void this.#removeIfUnused(digest), this.#keepUnusedMs);
    timer.unref();
  }

  async #removeIfUnused(digest: string): Promise<void> {
    if ((this.#users.get(digest)?.size ?? 0) > 0 || this.#inFlight.has(digest)) return;
    this.#users.delete(digest);
    // Renamed away at once, then deleted: a plug that finds the directory
    // finds all of it, never a half-deleted jar or module.
    const trash = join(this.#dir, `.unused-${randomBytes(6).toString('hex')}`);
    try {
      renameSync(join(this.#dir, digest), trash);
    } catch {
      return; // Already gone.
    }
    await rm(trash, { recursive: true, force: true });
  }

  /** Digests in use by at least one Sandbox. */
  get digestsInUse(): string[] {
    return [...this.#users].filter(([, users]) => users.size > 0).map(([digest]) => digest);
  }

  async close(): Promise<void> {
    await this.#workers.destroy();
  }

  #fetch(sandbox: Sandbox): Promise<string> {
    const code = sandbox.spec.function.code;
    const name = `${sandbox.metadata.namespace}/${sandbox.metadata.name}`;
    const format = sandbox.spec.function.runtime === 'java' ? 'jar' : 'tgz';
    if (code.inline) return this.#installInline(code.inline.files);
    if (code.url) {
      const { url, sha256 } = code.url;
      return this.#once('url', sha256, () => this.#installUrl(name, url, sha256, format));
    }
    if (code.configMap)
      return this.#installConfigMap(name, sandbox.metadata.namespace!, code.configMap, format);
    return Promise.reject(codeInvalid(`Sandbox ${name} has no code source`));
  }

  /** Deduplicates concurrent installs of one digest; `source` labels the cache's metrics. */
  #once(source: CodeSource, digest: string, install: () => Promise<string>): Promise<string> {
    if (existsSync(join(this.#dir, digest))) {
      codeCacheHits.labels(source).inc();
      return Promise.resolve(digest);
    }
    let pending = this.#inFlight.get(digest);
    if (!pending) {
      codeFetches.labels(source).inc();
      pending = install().finally(() => this.#inFlight.delete(digest));
      this.#inFlight.set(digest, pending);
    }
    return pending;
  }

  // Inline code is small (at most 256 KiB, by the CRD): hashing and writing it
  // here, synchronously, takes a fraction of a millisecond, less than the round
  // trip to a worker or the thread pool would.
  async #installInline(files: Record<string, string>): Promise<string> {
    const hash = createHash('sha256');
    for (const path of Object.keys(files).sort())
      hash.update(path).update('\0').update(files[path]!).update('\0');
    const digest = `inline-${hash.digest('hex')}`;
    return this.#once('inline', digest, async () => {
      const staging = join(this.#dir, `.staging-${randomBytes(6).toString('hex')}`);
      try {
        for (const [path, text] of Object.entries(files)) {
          const file = join(staging, path);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, text);
        }
        renameSync(staging, join(this.#dir, digest));
      } catch (err) {
        rmSync(staging, { recursive: true, force: true });
        if (!existsSync(join(this.#dir, digest))) throw err;
      }
      return digest;
    });
  }

  async #installUrl(
    name: string,
    url: string,
    sha256: string,
    format: 'tgz' | 'jar',
  ): Promise<string> {
    await mkdir(this.#dir, { recursive: true });
    const download = join(this.#dir, `.download-${randomBytes(6).toString('hex')}`);
    try {
      await this.#download(name, url, download);
      const { digest } = await this.#workers
        .run({ source: { file: download }, format, cacheDir: this.#dir })
        .catch((err: unknown) => {
          throw codeInvalid(
            `Sandbox ${name}: cannot unpack the code from ${url}: ${errorMessage(err)}`,
            err,
          );
        });
      if (digest !== sha256) {
        await rm(join(this.#dir, digest), { recursive: true, force: true });
        throw codeDigestMismatch(
          `Sandbox ${name}: code sha256 mismatch for ${url}: want ${sha256}, got ${digest}`,
        );
      }
      return digest;
    } finally {
      await rm(download, { force: true });
    }
  }

  async #download(name: string, url: string, file: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.timeout(this.#downloadTimeoutMs),
        redirect: 'follow',
      });
    } catch (err) {
      throw codeFetchFailed(
        `Sandbox ${name}: cannot download ${url}: ${errorMessage((err as Error).cause ?? err)}`,
        err,
      );
    }
    if (!response.ok || !response.body) {
      throw codeFetchFailed(
        `Sandbox ${name}: cannot download ${url}: HTTP ${response.status} ${response.statusText}`,
      );
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > this.#maxDownloadBytes) {
      throw codeInvalid(
        `Sandbox ${name}: ${url} is ${length} bytes, more than the ${this.#maxDownloadBytes} allowed`,
      );
    }
    let received = 0;
    const limit = this.#maxDownloadBytes;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit)
        body.destroy(
          codeInvalid(`Sandbox ${name}: ${url} is larger than the ${limit} bytes allowed`),
        );
    });
    try {
      await pipeline(body, createWriteStream(file));
    } catch (err) {
      if (err instanceof PlugError) throw err;
      throw codeFetchFailed(
        `Sandbox ${name}: download of ${url} failed: ${errorMessage(err)}`,
        err,
      );
    }
  }

  async #installConfigMap(
    name: string,
    namespace: string,
    ref: { name: string; key?: string },
    format: 'tgz' | 'jar',
  ): Promise<string> {
    let configMap;
    try {
      configMap = await this.#client.get(ConfigMaps, { namespace, name: ref.name });
    } catch (err) {
      if (isNotFound(err))
        throw codeFetchFailed(`Sandbox ${name}: ConfigMap ${namespace}/${ref.name} not found`);
      throw codeFetchFailed(
        `Sandbox ${name}: cannot read ConfigMap ${namespace}/${ref.name}: ${errorMessage(err)}`,
        err,
      );
    }
    const binary = configMap.binaryData ?? {};
    const text = configMap.data ?? {};
    const keys = [...Object.keys(binary), ...Object.keys(text)];
    const key = ref.key ?? (keys.length === 1 ? keys[0] : undefined);
    if (!key) {
      throw codeInvalid(
        keys.length === 0
          ? `Sandbox ${name}: ConfigMap ${namespace}/${ref.name} holds no data`
          : `Sandbox ${name}: ConfigMap ${namespace}/${ref.name} has keys ${keys.join(', ')}; set spec.function.code.configMap.key`,
      );
    }
    const base64 =
      binary[key] ??
      (text[key] !== undefined ? Buffer.from(text[key]!).toString('base64') : undefined);
    if (base64 === undefined)
      throw codeFetchFailed(
        `Sandbox ${name}: ConfigMap ${namespace}/${ref.name} has no key ${key}`,
      );
    // Code already on disk (every Sandbox of a function after the first) and
    // small, as most ConfigMap code is: hashing it here costs less than the
    // round trip to a worker, which is kept for installing and for big archives.
    if (base64.length <= HASH_HERE_MAX_BASE64) {
      const digest = createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
      if (existsSync(join(this.#dir, digest))) {
        codeCacheHits.labels('configMap').inc();
        return digest;
      }
    }
    codeFetches.labels('configMap').inc();
    await mkdir(this.#dir, { recursive: true });
    const { digest } = await this.#workers
      .run({ source: { base64 }, format, cacheDir: this.#dir })
      .catch((err: unknown) => {
        throw codeInvalid(
          `Sandbox ${name}: cannot unpack ${key} of ConfigMap ${namespace}/${ref.name}: ${errorMessage(err)}`,
          err,
        );
      });
    return digest;
  }
}
