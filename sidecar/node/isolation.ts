// How strongly this host pod keeps its Node.js functions apart, decided once
// at start from what the sidecar may do, and applied to every function
// process: a user id of its own (the kernel then refuses it other functions'
// files, /proc entries and signals), a cgroup (a hard memory limit with an OOM
// kill that lands on it alone, a CPU weight below the sidecar's, a task
// limit), and resource limits set through prlimit(1) (open files, file size,
// processes of its user). Node's permission model stays on in every mode, as
// the second belt. Whatever cannot be had is said loudly at start and
// published on the pod (roost.dev/isolation: weak), so a scheduler or a person
// can tell.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { CgroupHierarchy, type FunctionCgroup } from './cgroup.ts';
import { UidAllocator, type UidRange } from './uid-allocator.ts';

/** Prefix of every function cgroup, so that a restarted sidecar finds what a dead one left. */
const CGROUP_PREFIX = 'roost-fn-';

export type IsolationMode = 'auto' | 'off';

export interface IsolationOptions {
  /** Per-function user ids: "auto" when the sidecar can change uids, "off" never. */
  uids: IsolationMode;
  /** Per-function cgroups: "auto" where a writable hierarchy is found, "off" never. */
  cgroups: IsolationMode;
  uidRange?: UidRange;
  uidClaimsDir?: string;
  /** The sidecar's data directory, above the slots: made passable (0711) for functions' users, not listable. */
  dataDir: string;
  /** Where each function process gets a slot directory of its own. */
  slotsDir: string;
  /** runtime.js, which every function process runs. */
  runtimeDir: string;
  nodeBinary: string;
  /** Open files per function process (default 1024). */
  openFiles?: number;
  /** Tasks (processes and threads) per function, cgroup and user alike (default 128). */
  tasks?: number;
  /** Largest file a function may write (default 512 MiB). */
  fileSizeBytes?: number;
  /**
   * CPU weight of a function's cgroup, v2 scale (default 100, as any one
   * process). What the group buys is that a function's threads (V8's GC and
   * compiler threads, libuv's pool) count as one when the CPU is shared, so
   * a spinning function takes no more than any single process. A lower
   * weight was measured to slow every function's start and tail latency
   * whenever anything else ran (bench:isolation: process starts 9x slower
   * at weight 25 on a busy machine), for no gain a neighbour could see.
   */
  cpuWeight?: number;
  log: Logger;
}

/** What a host pod publishes about its isolation, and the sidecar logs at start. */
export interface IsolationReport {
  /** strong: functions have users and resource limits of their own; weak: they share the sidecar's user, or have no limits. */
  level: 'strong' | 'weak';
  /** "uids=per-function cgroups=v1(memory,cpu,pids) rlimits=prlimit" */
  details: string;
  /** Why it is weak, one reason per missing part. */
  weaknesses: string[];
}

export class Isolation {
  readonly #options: IsolationOptions;
  readonly users: UidAllocator | undefined;
  readonly cgroups: CgroupHierarchy | undefined;
  readonly prlimit: string | undefined;
  readonly report: IsolationReport;
  /** setpriv(1), for the launcher that joins the cgroup as root, then becomes the function's user. */
  readonly #setpriv = findTool('setpriv');
  /** The launcher's shell; an image without one (distroless) moves each process into its group after start. */
  readonly #shell = findTool('sh');

  private constructor(
    options: IsolationOptions,
    parts: {
      users?: UidAllocator;
      cgroups?: CgroupHierarchy;
      prlimit?: string;
      weaknesses: string[];
    },
  ) {
    this.#options = options;
    this.users = parts.users;
    this.cgroups = parts.cgroups;
    this.prlimit = parts.prlimit;
    const details = [
      `uids=${this.users ? `per-function(${this.users.range.first}-${this.users.range.last})` : 'shared'}`,
      `cgroups=${this.cgroups ? `v${this.cgroups.version}(${this.cgroups.controllers.join(',')})` : 'none'}`,
      `rlimits=${this.prlimit ? 'prlimit' : 'none'}`,
    ].join(' ');
    this.report = {
      // What a scheduler matches on: whether the kernel keeps functions apart
      // (own users, own limits). Without a cgroup (a pod's cgroupfs is
      // read-only), memory is sampled every 50 ms instead, which keeps each
      // function within a tenth of its limit: said, but not weak.
      level: parts.users && parts.prlimit ? 'strong' : 'weak',
      details,
      weaknesses: parts.weaknesses,
    };
  }

  /** Finds out what this sidecar may do, prepares the directories, and says what it found. */
  static setUp(options: IsolationOptions): Isolation {
    const weaknesses: string[] = [];
    mkdirSync(options.slotsDir, { recursive: true });
    let users: UidAllocator | undefined;
    if (options.uids === 'off')
      weaknesses.push('per-function user ids are turned off (--function-uids off)');
    else {
      const why = cannotChangeUids();
      if (why) weaknesses.push(`functions share the sidecar's user id: ${why}`);
      else {
        // Functions pass through these to their own slot, and may not list
        // them: execute without read.
        chmodSync(options.dataDir, 0o711);
        chmodSync(options.slotsDir, 0o711);
        try {
          users = new UidAllocator({ range: options.uidRange, claimsDir: options.uidClaimsDir });
        } catch (err) {
          // A read-only /run, say: without claims, ids could be shared between sidecars.
          weaknesses.push(
            `functions share the sidecar's user id: cannot keep user id claims: ${errorMessage(err)}`,
          );
        }
        const unreachable = users && probeAsUser(users, options);
        if (unreachable) {
          weaknesses.push(`functions share the sidecar's user id: ${unreachable}`);
          users = undefined;
        }
      }
    }
    let cgroups: CgroupHierarchy | undefined;
    if (options.cgroups === 'off')
      weaknesses.push('per-function cgroups are turned off (--cgroups off)');
    else {
      const found = CgroupHierarchy.detect();
      if (found instanceof CgroupHierarchy) {
        cgroups = found;
        // Named roost-fn-<sidecar pid>-<n>: a group whose sidecar is gone is a leftover.
        cgroups.removeLeftovers((name) => {
          const pid = Number(name.slice(CGROUP_PREFIX.length).split('-')[0]);
          return name.startsWith(CGROUP_PREFIX) && pid > 0 && !isAlive(pid);
        });
      } else
        weaknesses.push(
          `no cgroup for function processes (memory is sampled every 50 ms instead): ${found.unavailable}`,
        );
    }
    const prlimit = findPrlimit();
    if (!prlimit)
      weaknesses.push(
        'prlimit (util-linux) not found: no per-function open-file, file-size or process limits',
      );
    const isolation = new Isolation(options, { users, cgroups, prlimit, weaknesses });
    const { log } = options;
    if (isolation.report.level === 'strong') {
      log.info({ isolation: isolation.report.details }, 'function isolation: strong');
      for (const weakness of weaknesses)
        log.warn({ isolation: isolation.report.details }, `function isolation: ${weakness}`);
    } else
      for (const weakness of weaknesses)
        log.warn(
          { isolation: isolation.report.details },
          `WEAKER FUNCTION ISOLATION on this host pod: ${weakness}`,
        );
    return isolation;
  }

  /**
   * Sampling interval for memory: fast where no cgroup stops a function at
   * its limit. A data-segment limit (RLIMIT_DATA) would be the kernel's
   * answer without cgroups, but V8 reserves its code range as data: under a
   * 192 MiB limit Node 24 dies at start ("Failed to reserve virtual memory for
   * CodeRange"), so sampling it is. At 50 ms, a function growing 200 MiB/s is
   * caught within 10 MiB.
   */
  get usageIntervalMs(): number {
    return this.cgroups ? 1000 : 50;
  }

  /** A user, a cgroup and limits for one new function process; release() once it and its slot are gone. */
  confine(memoryLimitBytes: number, slotDir: string): ProcessConfinement {
    const uid = this.users?.allocate(slotDir);
    let cgroup: FunctionCgroup | undefined;
    try {
      cgroup = this.cgroups?.create(`${CGROUP_PREFIX}${process.pid}-${uid ?? nextGroup++}`, {
        memoryBytes: memoryLimitBytes,
        cpuWeight: this.#options.cpuWeight ?? 100,
        pidsMax: this.#options.tasks ?? 128,
      });
    } catch (err) {
      if (uid !== undefined) this.users!.release(uid);
      throw err;
    }
    const limits = this.prlimit
      ? [
          `--nofile=${this.#options.openFiles ?? 1024}`,
          `--fsize=${this.#options.fileSizeBytes ?? 512 * 1024 * 1024}`,
          '--core=0',
          // RLIMIT_NPROC counts every task of the real user id: only a user of
          // the function's own can be limited without starving the sidecar.
          ...(uid !== undefined ? [`--nproc=${this.#options.tasks ?? 128}`] : []),
        ]
      : [];
    return new ProcessConfinement({
      uid,
      cgroup,
      memoryLimitBytes,
      prlimit: this.prlimit,
      setpriv: this.#setpriv,
      shell: this.#shell,
      limits,
      release: () => {
        cgroup?.killAll();
        cgroup?.remove();
        if (uid !== undefined) this.users!.release(uid);
      },
    });
  }
}

let nextGroup = 0;

/**
 * The launcher's script, run by /bin/sh as the sidecar's user: it writes its
 * own pid into each of the first N files (the group's cgroup.procs) and execs
 * the rest of its arguments, so that the process is in its cgroup from its
 * first page, before it changes user. A move after start charged the few MiB
 * the runtime allocates while it boots to the sidecar's group instead (and
 * cgroup v1's move_charge_at_immigrate is refused by this kernel).
 */
const JOIN_THEN_EXEC =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';

export class ProcessConfinement {
  /** The function's own user and group id, or undefined when it shares the sidecar's. */
  readonly uid: number | undefined;
  /**
   * The user id to spawn the process as: the function's own, unless the
   * launcher joins its cgroup first and changes user itself (then undefined:
   * it starts as the sidecar's user).
   */
  readonly spawnAsUid: number | undefined;
  readonly cgroup: FunctionCgroup | undefined;
  readonly memoryLimitBytes: number;
  readonly #launcher: boolean;
  readonly #setpriv: string | undefined;
  readonly #shell: string | undefined;
  readonly #prlimit: string | undefined;
  readonly #limits: string[];
  readonly #release: () => void;
  #released = false;

  constructor(parts: {
    uid: number | undefined;
    cgroup: FunctionCgroup | undefined;
    memoryLimitBytes: number;
    prlimit: string | undefined;
    setpriv: string | undefined;
    shell: string | undefined;
    limits: string[];
    release: () => void;
  }) {
    this.uid = parts.uid;
    this.cgroup = parts.cgroup;
    this.#setpriv = parts.setpriv;
    // Without setpriv or a shell, a process is started as its user and moved
    // into its group just after (it could not write cgroup.procs itself).
    this.#launcher =
      parts.cgroup !== undefined &&
      parts.shell !== undefined &&
      (parts.uid === undefined || !!parts.setpriv);
    this.#shell = parts.shell;
    this.spawnAsUid = this.#launcher ? undefined : parts.uid;
    this.memoryLimitBytes = parts.memoryLimitBytes;
    this.#prlimit = parts.prlimit;
    this.#limits = parts.limits;
    this.#release = parts.release;
  }

  /**
   * The command line that starts `command` confined: [sh joining the cgroup]
   * [setpriv becoming the function's user] [prlimit setting the limits]
   * command. Each execs the next, so the pid stays the one spawned.
   */
  wrap(command: string, args: string[]): { command: string; args: string[] } {
    let line = [command, ...args];
    if (this.#prlimit && this.#limits.length > 0)
      line = [this.#prlimit, ...this.#limits, '--', ...line];
    if (this.#launcher) {
      if (this.uid !== undefined)
        line = [
          this.#setpriv!,
          `--reuid=${this.uid}`,
          `--regid=${this.uid}`,
          '--clear-groups',
          '--no-new-privs',
          '--',
          ...line,
        ];
      const procs = this.cgroup!.directories.map((dir) => join(dir, 'cgroup.procs'));
      line = [
        this.#shell!,
        '-c',
        JOIN_THEN_EXEC,
        'roost-launch',
        String(procs.length),
        ...procs,
        ...line,
      ];
    }
    return { command: line[0]!, args: line.slice(1) };
  }

  /** Moves the started process into its cgroup, unless the launcher already has. */
  async attach(pid: number): Promise<void> {
    if (!this.#launcher) await this.cgroup?.join(pid);
  }

  /** Set if the kernel killed it for memory: why, in words for lastTermination. */
  kernelOutOfMemory(): string | undefined {
    if (!this.cgroup || this.cgroup.oomKills() === 0) return undefined;
    const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
    const peak = this.cgroup.peakBytes();
    return `the kernel killed it at its memory limit of ${mib(this.memoryLimitBytes)}${peak ? ` (peak ${mib(peak)})` : ''}`;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#release();
  }
}

/**
 * The capabilities per-function users take: start a process under another
 * user (SETUID, SETGID), give it its slot (CHOWN), remove the slot once it is
 * gone (DAC_OVERRIDE, FOWNER: the slot is the function's, mode 0700), and
 * stop a process that is not the sidecar's own user (KILL). Root in a
 * container holds them only if the pod grants them.
 */
const NEEDED_CAPABILITIES = {
  CHOWN: 0n,
  DAC_OVERRIDE: 1n,
  FOWNER: 3n,
  KILL: 5n,
  SETGID: 6n,
  SETUID: 7n,
} as const;

/** Why this process cannot run children under users of their own, or undefined if it can. */
function cannotChangeUids(): string | undefined {
  let effective: bigint;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    effective = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  } catch {
    return 'cannot read its capabilities from /proc/self/status (not Linux?)';
  }
  const missing = Object.entries(NEEDED_CAPABILITIES)
    .filter(([, bit]) => ((effective >> bit) & 1n) === 0n)
    .map(([name]) => name);
  if (missing.length === 0) return undefined;
  return `the sidecar ${process.getuid?.() === 0 ? 'runs as root but ' : 'is not root and '}lacks the capabilities ${missing.join(', ')}`;
}

/**
 * Starts node once under a function's kind of user id to check what the
 * sidecar cannot see from its own: that the kernel lets it change to such a
 * user (a user namespace may not map the range) and that such a user can reach
 * the runtime, the node binary and the slots directory.
 */
function probeAsUser(users: UidAllocator, options: IsolationOptions): string | undefined {
  let uid: number | undefined;
  try {
    uid = users.allocate();
    const check = `for (const [p, m] of ${JSON.stringify([
      [join(options.runtimeDir, 'runtime.js'), 4],
      [options.slotsDir, 1],
    ])}) require('node:fs').accessSync(p, m);`;
    const result = spawnSync(options.nodeBinary, ['-e', check], {
      uid,
      gid: uid,
      env: {},
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (result.error) return `cannot start a process as user ${uid}: ${result.error.message}`;
    if (result.status !== 0)
      return `user ${uid} cannot reach the runtime or the slots directory (each directory above them needs execute permission for others): ${result.stderr.split('\n').find((l) => l.startsWith('Error')) ?? result.stderr.trim()}`;
    return undefined;
  } catch (err) {
    return errorMessage(err);
  } finally {
    if (uid !== undefined) users.release(uid);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function findPrlimit(): string | undefined {
  return findTool('prlimit');
}

/** A util-linux tool in the usual places. */
function findTool(name: string): string | undefined {
  return ['/usr/bin', '/bin', '/usr/local/bin']
    .map((d) => join(d, name))
    .find((p) => existsSync(p));
}
