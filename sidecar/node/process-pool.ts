// The warm pool (the seeds' "resource pool"): generic runtime-node processes
// started ahead of need, so that plugging a Node function costs a
// specialisation (load its code) rather than a process start. Processes differ
// only in their V8 heap limit, fixed at start, so the pool keeps `size` idle
// processes for each memory size recently asked for. The taker calls
// replenish() once it has specialised its process: a process start costs
// about a core for tens of milliseconds, and starting the replacement at once
// would compete with the very plug that took the warm one.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.ts';
import type { Isolation } from './isolation.ts';
import { RuntimeProcess } from './runtime-process.ts';

export interface WarmPoolOptions {
  /** Where process slots are created. */
  dir: string;
  /** Idle processes kept per memory size; 0 disables the pool (every plug starts a process). */
  size: number;
  /** Memory sizes to keep warm from the start (default [128], the CRD default). */
  initialSizesMiB?: number[];
  /** Most memory sizes kept warm at once (default 3): the most recently used win. */
  maxSizes?: number;
  /** User ids, cgroups and limits for each process; without it processes run as the sidecar does. */
  isolation?: Isolation;
  /** Memory a process may use beyond its function's memoryMiB, the cgroup's hard limit (default 64). */
  overheadMiB?: number;
  log: Logger;
}

export interface Taken {
  process: RuntimeProcess;
  /** It was already running (warm); false if it had to be started for this take. */
  warm: boolean;
}

let slotCounter = 0;

export class WarmPool {
  readonly #options: WarmPoolOptions;
  /** memoryMiB -> idle processes, most recently used size last. */
  readonly #idle = new Map<number, RuntimeProcess[]>();
  #closed = false;

  constructor(options: WarmPoolOptions) {
    this.#options = options;
    // Slots an earlier run of this sidecar left (a restarted container keeps
    // its data directory): their processes died with it, and their files
    // must not outlive it, since their user ids may serve other functions.
    for (const entry of existsSync(options.dir) ? readdirSync(options.dir) : [])
      if (entry.startsWith('slot-'))
        rmSync(join(options.dir, entry), { recursive: true, force: true });
    for (const memoryMiB of options.initialSizesMiB ?? [128]) this.#refill(memoryMiB);
  }

  /** An idle process with this heap limit, or a new one if none is warm. Call replenish() after. */
  take(memoryMiB: number): Taken {
    const idle = this.#idle.get(memoryMiB) ?? [];
    // Most recently used size moves to the end of the map's order.
    this.#idle.delete(memoryMiB);
    this.#idle.set(memoryMiB, idle);
    let process: RuntimeProcess | undefined;
    while ((process = idle.shift())) if (process.alive) break;
    const warm = process !== undefined;
    process ??= this.#spawn(memoryMiB);
    this.#evictOldSizes();
    return { process, warm };
  }

  /** Starts idle processes of this size until there are `size` of them. */
  replenish(memoryMiB: number): void {
    this.#refill(memoryMiB);
  }

  /** Idle processes per memory size, for stats and tests. */
  get idleCounts(): Record<number, number> {
    return Object.fromEntries([...this.#idle].map(([size, list]) => [size, list.length]));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle.values()].flat();
    this.#idle.clear();
    await Promise.all(all.map((p) => p.stop(500)));
  }

  #spawn(memoryMiB: number): RuntimeProcess {
    // A user of its own from the start: a process cannot change its uid once
    // started, so the process, and the Sandbox it is later given to, keep
    // this one until the process is gone.
    const slotDir = join(this.#options.dir, `slot-${process.pid}-${++slotCounter}`);
    const confinement = this.#options.isolation?.confine(
      (memoryMiB + (this.#options.overheadMiB ?? 64)) * 1024 * 1024,
      slotDir,
    );
    try {
      return new RuntimeProcess({
        slotDir,
        memoryMiB,
        confinement,
      });
    } catch (err) {
      confinement?.release();
      throw err;
    }
  }

  #refill(memoryMiB: number): void {
    if (this.#closed || this.#options.size <= 0) return;
    let idle = this.#idle.get(memoryMiB);
    if (!idle) this.#idle.set(memoryMiB, (idle = []));
    while (idle.length < this.#options.size) {
      const fresh = this.#spawn(memoryMiB);
      idle.push(fresh);
      // An idle process that dies (it should not) leaves the pool and is
      // replaced, unless it never booted: then a replacement would fail too.
      let booted = false;
      void fresh.booted.then(
        () => (booted = true),
        () => {},
      );
      void fresh.exited.then((exit) => {
        const list = this.#idle.get(memoryMiB);
        const index = list?.indexOf(fresh) ?? -1;
        if (index < 0) return;
        list!.splice(index, 1);
        if (!booted) {
          this.#options.log.error(
            { memoryMiB, err: exit.message },
            'a runtime process failed to boot; the warm pool stops refilling this size',
          );
          return;
        }
        this.#options.log.warn(
          { memoryMiB, pid: fresh.pid },
          'an idle runtime process exited; replacing it',
        );
        this.#refill(memoryMiB);
      });
    }
  }

  #evictOldSizes(): void {
    const maxSizes = this.#options.maxSizes ?? 3;
    while (this.#idle.size > maxSizes) {
      const [oldest, list] = this.#idle.entries().next().value as [number, RuntimeProcess[]];
      this.#idle.delete(oldest);
      for (const p of list) void p.stop(500);
    }
  }
}
