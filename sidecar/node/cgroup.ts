// A control group per function process, so that the kernel enforces its
// memory (a hard limit, and an OOM kill that lands on that process alone, not
// on whatever the node's OOM killer would pick, perhaps the sidecar), its
// share of the CPU and its number of tasks. Both hierarchies are supported:
// cgroup v1 (one mount per controller, as on this project's CI machines) and
// cgroup v2 (one tree; the sidecar's own group must be delegated to it).
// Groups are made below the sidecar's own group, so a pod's limits still
// bound all of its functions together.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RoostError, errorMessage } from '../../lib/errors.ts';

export interface CgroupLimits {
  memoryBytes: number;
  /** CPU weight on cgroup v2's scale (1 to 10000, default 100); v1 shares are 10.24 times it. */
  cpuWeight: number;
  /** Most tasks (processes and threads) in the group. */
  pidsMax: number;
}

export class CgroupError extends RoostError {
  constructor(message: string, cause?: unknown) {
    super('ROOST_CGROUP', message, { cause });
  }
}

type Controller = 'memory' | 'cpu' | 'pids';

/** Where this process may make groups: one directory per controller (v1), or one for all (v2). */
export class CgroupHierarchy {
  readonly version: 1 | 2;
  /** controller -> the directory new groups go into. */
  readonly #bases: Map<Controller, string>;

  /** Use detect(); this takes directories already known to accept new groups. */
  constructor(version: 1 | 2, bases: Map<Controller, string>) {
    this.version = version;
    this.#bases = bases;
  }

  get controllers(): Controller[] {
    return [...this.#bases.keys()];
  }

  /**
   * Finds a hierarchy with the memory controller that this process can make
   * groups in, or says why there is none (the caller falls back, loudly).
   */
  static detect(): CgroupHierarchy | { unavailable: string } {
    let mounts: string;
    let own: string;
    try {
      mounts = readFileSync('/proc/self/mounts', 'utf8');
      own = readFileSync('/proc/self/cgroup', 'utf8');
    } catch (err) {
      return { unavailable: `cannot read cgroup mounts: ${errorMessage(err)}` };
    }
    const v1 = detectV1(mounts, own);
    if (v1 instanceof CgroupHierarchy) return v1;
    const v2 = detectV2(mounts, own);
    if (v2 instanceof CgroupHierarchy) return v2;
    return { unavailable: `cgroup v1: ${v1.unavailable}; cgroup v2: ${v2.unavailable}` };
  }

  /** Makes (or takes over a leftover of) the group `name` with these limits. */
  create(name: string, limits: CgroupLimits): FunctionCgroup {
    const dirs = new Map<Controller, string>();
    for (const [controller, base] of this.#bases) dirs.set(controller, join(base, name));
    const group = new FunctionCgroup(this.version, dirs);
    try {
      for (const dir of new Set(dirs.values())) mkdirSync(dir, { recursive: true });
      group.killAll();
      group.setLimits(limits);
    } catch (err) {
      group.remove();
      throw new CgroupError(`Cannot make the cgroup ${name}: ${errorMessage(err)}`, err);
    }
    return group;
  }

  /** Removes the groups `isLeftover` picks by name: what a sidecar that died left behind. */
  removeLeftovers(isLeftover: (name: string) => boolean): void {
    for (const base of new Set(this.#bases.values())) {
      for (const entry of safeReaddir(base)) {
        if (!isLeftover(entry)) continue;
        const dirs = new Map([...this.#bases].map(([c, b]) => [c, join(b, entry)]));
        const group = new FunctionCgroup(this.version, dirs);
        group.killAll();
        group.remove();
      }
    }
  }
}

export class FunctionCgroup {
  readonly version: 1 | 2;
  readonly #dirs: Map<Controller, string>;

  constructor(version: 1 | 2, dirs: Map<Controller, string>) {
    this.version = version;
    this.#dirs = dirs;
  }

  /** Its directories, one per hierarchy (v1) or one (v2). */
  get directories(): string[] {
    return [...new Set(this.#dirs.values())];
  }

  setLimits(limits: CgroupLimits): void {
    const memory = this.#dirs.get('memory')!;
    const cpu = this.#dirs.get('cpu');
    const pids = this.#dirs.get('pids');
    if (this.version === 1) {
      writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // With swap accounting, memory + swap gets the same limit: a function
      // must not escape its limit by being swapped out.
      tryWrite(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      if (cpu) writeFileSync(join(cpu, 'cpu.shares'), String(Math.round(limits.cpuWeight * 10.24)));
    } else {
      writeFileSync(join(memory, 'memory.max'), String(limits.memoryBytes));
      tryWrite(join(memory, 'memory.swap.max'), '0');
      tryWrite(join(memory, 'memory.oom.group'), '1');
      if (cpu) writeFileSync(join(cpu, 'cpu.weight'), String(limits.cpuWeight));
    }
    if (pids) writeFileSync(join(pids, 'pids.max'), String(limits.pidsMax));
  }

  /**
   * Moves a process (all its threads) into the group. Asynchronous on
   * purpose: a write to cgroup.procs waits for the kernel to quiesce (an RCU
   * grace period), measured at 5 to 18 ms here, which would stall the
   * sidecar's event loop on every process start.
   */
  async join(pid: number): Promise<void> {
    await Promise.all(
      [...new Set(this.#dirs.values())].map((dir) =>
        writeFile(join(dir, 'cgroup.procs'), String(pid)),
      ),
    );
  }

  /** How many times the kernel's OOM killer killed a task of this group. */
  oomKills(): number {
    const memory = this.#dirs.get('memory')!;
    const file = this.version === 1 ? 'memory.oom_control' : 'memory.events';
    const text = tryRead(join(memory, file)) ?? '';
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0);
  }

  /** The most memory the group has used, where the kernel says (v1; v2 from 5.19). */
  peakBytes(): number | undefined {
    const memory = this.#dirs.get('memory')!;
    const text = tryRead(
      join(memory, this.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'),
    );
    return text === undefined ? undefined : Number(text.trim());
  }

  /** SIGKILL to every task left in the group (a function's own children, should it make any). */
  killAll(): void {
    for (const dir of new Set(this.#dirs.values())) {
      for (const line of (tryRead(join(dir, 'cgroup.procs')) ?? '').split('\n')) {
        const pid = Number(line);
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
      }
    }
  }

  /** Removes the group; its tasks must have exited (a busy group is left and retried once). */
  remove(): void {
    for (const dir of new Set(this.#dirs.values())) {
      try {
        rmdirSync(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        // A task that has just been killed can take a moment to leave the group.
        if (code === 'EBUSY') setTimeout(() => tryRmdir(dir), 200).unref();
      }
    }
  }
}

function detectV1(mounts: string, own: string): CgroupHierarchy | { unavailable: string } {
  const bases = new Map<Controller, string>();
  for (const controller of ['memory', 'cpu', 'pids'] as const) {
    const mount = mounts
      .split('\n')
      .map((line) => line.split(' '))
      .find(([, , type, options]) => type === 'cgroup' && options?.split(',').includes(controller));
    if (!mount) continue;
    const path = own
      .split('\n')
      .map((line) => line.split(':'))
      .find(([, controllers]) => controllers?.split(',').includes(controller))?.[2];
    if (path === undefined) continue;
    const base = join(mount[1]!, path);
    if (canMakeGroups(base)) bases.set(controller, base);
  }
  if (!bases.has('memory')) return { unavailable: 'no writable memory controller hierarchy' };
  return new CgroupHierarchy(1, bases);
}

function detectV2(mounts: string, own: string): CgroupHierarchy | { unavailable: string } {
  const mount = mounts
    .split('\n')
    .map((line) => line.split(' '))
    .find(([, , type]) => type === 'cgroup2');
  const path = own
    .split('\n')
    .find((line) => line.startsWith('0::'))
    ?.slice(3);
  if (!mount || path === undefined) return { unavailable: 'not mounted' };
  const base = join(mount[1]!, path);
  const available = (tryRead(join(base, 'cgroup.controllers')) ?? '').split(/\s+/);
  if (!available.includes('memory'))
    return { unavailable: `the memory controller is not delegated to ${base}` };
  try {
    delegateV2(base, available);
  } catch (err) {
    return { unavailable: `cannot take ${base} for function groups: ${errorMessage(err)}` };
  }
  const bases = new Map<Controller, string>();
  for (const controller of ['memory', 'cpu', 'pids'] as const)
    if (available.includes(controller)) bases.set(controller, base);
  return new CgroupHierarchy(2, bases);
}

/**
 * cgroup v2 lets a group hand controllers to its children only while it holds
 * no process itself ("no internal processes"), so the processes of the
 * sidecar's own group (the sidecar, and in a container whatever else runs in
 * it) move to a leaf of their own first, as systemd and container runtimes do.
 */
function delegateV2(base: string, available: string[]): void {
  const leaf = join(base, 'roost-sidecar');
  const procs = (tryRead(join(base, 'cgroup.procs')) ?? '').split('\n').filter(Boolean);
  if (procs.length > 0) {
    mkdirSync(leaf, { recursive: true });
    for (const pid of procs) tryWrite(join(leaf, 'cgroup.procs'), pid);
  }
  const wanted = ['memory', 'cpu', 'pids'].filter((c) => available.includes(c));
  writeFileSync(join(base, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
}

function canMakeGroups(base: string): boolean {
  const probe = join(base, `roost-probe-${process.pid}`);
  try {
    if (!existsSync(base)) return false;
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function tryWrite(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // An optional knob this kernel lacks (swap accounting, oom.group).
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Left for removeLeftovers() at the next start.
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
