// Each Sandbox's log lines: what the function printed, with time, level and
// the request id of the invocation that printed it. The recent lines stay in a
// ring in memory for fast queries and live following; every line also goes to
// a per-Sandbox file, rotated by size, for what the ring no longer holds.
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  statSync,
  type WriteStream,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LogLevelName } from '../runtime-node/protocol.ts';

export interface LogLine {
  namespace: string;
  sandbox: string;
  deployment: string;
  /** Unix milliseconds. */
  time: number;
  level: LogLevelName;
  requestId: string;
  message: string;
  stream: 'stdout' | 'stderr' | 'console' | 'system';
}

export interface LogFilter {
  namespace?: string;
  sandbox?: string;
  deployment?: string;
  minLevel?: LogLevelName;
  sinceMs?: number;
  untilMs?: number;
  contains?: string;
  requestId?: string;
  /** The most recent lines, if more match. */
  limit?: number;
}

const LEVELS: LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function levelRank(level: LogLevelName): number {
  return LEVELS.indexOf(level);
}

export function matches(line: LogLine, filter: LogFilter): boolean {
  return (
    (!filter.namespace || line.namespace === filter.namespace) &&
    (!filter.sandbox || line.sandbox === filter.sandbox) &&
    (!filter.deployment || line.deployment === filter.deployment) &&
    (!filter.minLevel || levelRank(line.level) >= levelRank(filter.minLevel)) &&
    (!filter.sinceMs || line.time >= filter.sinceMs) &&
    (!filter.untilMs || line.time <= filter.untilMs) &&
    (!filter.requestId || line.requestId === filter.requestId) &&
    (!filter.contains || line.message.includes(filter.contains))
  );
}

interface SandboxLog {
  ring: LogLine[];
  file: WriteStream;
  path: string;
  bytes: number;
}

export interface LogStoreOptions {
  dir: string;
  /** Lines kept in memory per Sandbox (default 2000). */
  ringSize?: number;
  /** Size at which a Sandbox's file rotates (default 5 MiB); one rotated file is kept. */
  maxFileBytes?: number;
}

export class LogStore {
  readonly #dir: string;
  readonly #ringSize: number;
  readonly #maxFileBytes: number;
  readonly #logs = new Map<string, SandboxLog>();
  readonly #followers = new Set<{ filter: LogFilter; onLine: (line: LogLine) => void }>();

  constructor(options: LogStoreOptions) {
    this.#dir = options.dir;
    this.#ringSize = options.ringSize ?? 2000;
    this.#maxFileBytes = options.maxFileBytes ?? 5 * 1024 * 1024;
    mkdirSync(this.#dir, { recursive: true });
  }

  append(line: LogLine): void {
    const log = this.#open(line.namespace, line.sandbox);
    log.ring.push(line);
    if (log.ring.length > this.#ringSize) log.ring.shift();
    const text = `${JSON.stringify(line)}\n`;
    log.file.write(text);
    log.bytes += Buffer.byteLength(text);
    if (log.bytes > this.#maxFileBytes) this.#rotate(log);
    for (const follower of this.#followers)
      if (matches(line, follower.filter)) follower.onLine(line);
  }

  /** Lines matching the filter, oldest first; from the files when the ring does not reach back far enough. */
  async query(filter: LogFilter): Promise<LogLine[]> {
    const found: LogLine[] = [];
    for (const [key, log] of this.#logs) {
      const [namespace, sandbox] = key.split('/') as [string, string];
      if (
        (filter.namespace && filter.namespace !== namespace) ||
        (filter.sandbox && filter.sandbox !== sandbox)
      )
        continue;
      const ringCovers =
        log.ring.length < this.#ringSize ||
        (filter.sinceMs !== undefined && log.ring[0]!.time <= filter.sinceMs);
      if (ringCovers) found.push(...log.ring.filter((line) => matches(line, filter)));
      else found.push(...(await this.#readFiles(log.path, filter)));
    }
    found.sort((a, b) => a.time - b.time);
    return filter.limit ? found.slice(-filter.limit) : found;
  }

  /** Calls onLine with every new matching line until the returned function is called. */
  follow(filter: LogFilter, onLine: (line: LogLine) => void): () => void {
    const follower = { filter, onLine };
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }

  /** Closes a Sandbox's file; its lines stay queryable until the store closes. */
  close(namespace: string, sandbox: string): void {
    this.#logs.get(`${namespace}/${sandbox}`)?.file.end();
  }

  closeAll(): void {
    for (const log of this.#logs.values()) log.file.end();
  }

  #open(namespace: string, sandbox: string): SandboxLog {
    const key = `${namespace}/${sandbox}`;
    let log = this.#logs.get(key);
    if (!log || log.file.closed || log.file.writableEnded) {
      const path = join(this.#dir, `${namespace}_${sandbox}.log`);
      const bytes = existsSync(path) ? statSync(path).size : 0;
      log = { ring: log?.ring ?? [], file: createWriteStream(path, { flags: 'a' }), path, bytes };
      this.#logs.set(key, log);
    }
    return log;
  }

  #rotate(log: SandboxLog): void {
    log.file.end();
    renameSync(log.path, `${log.path}.1`);
    log.file = createWriteStream(log.path, { flags: 'a' });
    log.bytes = 0;
  }

  async #readFiles(path: string, filter: LogFilter): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    for (const file of [`${path}.1`, path]) {
      if (!existsSync(file)) continue;
      for await (const text of createInterface({ input: createReadStream(file) })) {
        try {
          const line = JSON.parse(text) as LogLine;
          if (matches(line, filter)) lines.push(line);
        } catch {
          // A line cut short by a crash; skip it.
        }
      }
    }
    return lines;
  }
}
