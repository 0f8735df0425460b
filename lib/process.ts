// Child processes that are always stopped: every process started here is
// tracked, stopped with SIGTERM then SIGKILL after a grace period, and killed
// outright if this process exits without stopping it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { RoostError } from './errors.ts';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Shown in errors and logs: "etcd", "sidecar roost-system/host-1". */
  name: string;
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logFile?: string;
  /** Called with each line of stdout and stderr. */
  onLine?: (line: string) => void;
  /** Open an IPC channel with advanced serialization (Node children only). */
  ipc?: boolean;
  /**
   * One more socket pair after the IPC channel (the child's fd 4), as
   * child.stdio[4]: a private channel to this child alone, with no path in
   * the file system that another process could open.
   */
  socketPair?: boolean;
  /** Keep stderr lines in memory for error messages (default 0). */
  keepStderrLines?: number;
  /**
   * Give the child a stdin pipe that stays open, unwritten, for its whole life.
   * A child that exits at end of file then dies with this process, even when
   * this process is killed outright and cannot stop it.
   */
  stdinPipe?: boolean;
  /** Run as this user and group id (the parent must be root or hold SETUID/SETGID); supplementary groups are dropped. */
  uid?: number;
  gid?: number;
}

export class ProcessStartError extends RoostError {
  constructor(name: string, cause: unknown) {
    super('ROOST_PROCESS_START', `Cannot start ${name}: ${String(cause)}`, { cause });
  }
}

const running = new Set<ManagedProcess>();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #log: WriteStream | undefined;
  readonly #stderrTail: string[] = [];

  constructor(options: StartOptions) {
    this.name = options.name;
    const stdio: ('pipe' | 'ignore' | 'ipc')[] = [
      options.stdinPipe ? 'pipe' : 'ignore',
      'pipe',
      'pipe',
    ];
    if (options.ipc) stdio.push('ipc');
    if (options.socketPair) {
      if (!options.ipc) throw new Error('socketPair needs ipc: the pair is the fd after it');
      stdio.push('pipe');
    }
    this.child = spawn(options.command, options.args ?? [], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio,
      serialization: options.ipc ? 'advanced' : 'json',
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    if (options.logFile) this.#log = createWriteStream(options.logFile, { flags: 'a' });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      if (options.onLine) {
        const onLine = options.onLine;
        createInterface({ input: stream }).on('line', onLine);
      }
      if (this.#log) stream.pipe(this.#log, { end: false });
    }
    if (options.keepStderrLines && this.child.stderr) {
      const keep = options.keepStderrLines;
      createInterface({ input: this.child.stderr }).on('line', (line) => {
        this.#stderrTail.push(line);
        if (this.#stderrTail.length > keep) this.#stderrTail.shift();
      });
    }
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        running.delete(this);
        resolve(this.#exit);
      });
      this.child.once('error', (err) => {
        if (this.child.pid !== undefined) return;
        this.#exit = { code: null, signal: null };
        running.delete(this);
        options.onLine?.(`${this.name}: ${err.message}`);
        resolve(this.#exit);
      });
    });
    void this.exited.then(() => this.#log?.end());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines it wrote to stderr, if keepStderrLines was set. */
  get stderrTail(): string[] {
    return this.#stderrTail;
  }

  /** How it exited, or undefined while it runs. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#exit) return;
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Whether a process of this id exists, this user's or another's (EPERM: it exists, but not ours to signal). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function startProcess(options: StartOptions): ManagedProcess {
  try {
    return new ManagedProcess(options);
  } catch (err) {
    throw new ProcessStartError(options.name, err);
  }
}
