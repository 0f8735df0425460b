// One runtime-node child process: started generic (the warm pool), then
// specialised into one function, then invoked. It runs under Node's permission
// model: it may read the runtime and its own code, write its own tmp
// directory, and nothing else; it may not spawn processes or workers; its
// environment starts empty. Where the host pod can (see isolation.ts) it also
// runs under a user id of its own, in a cgroup of its own and under resource
// limits, so that the kernel enforces what the permission model only checks.
// Its slot directory is fixed at start, because permission flags are, and the
// function's code is copied into it at specialisation: a private copy, not a
// link into the shared code cache, because the permission model checks a path
// as written, and `code/function/../<digest>` through a link led into the
// cache (every other function's code).
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cp, lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RoostError } from '../../lib/errors.ts';
import type { Socket } from 'node:net';
import { startProcess, type Exit, type ManagedProcess } from '../../lib/process.ts';
import { FrameReader, FrameWriter, MAX_FRAME_BYTES } from '../../runtime-node/frames.js';
import { INVOKE_HEADER, LOG_HEADER, REPLY_HEADER } from '../../runtime-node/frame-headers.js';
import type {
  FromRuntime,
  FunctionFailure,
  InvokeFrame,
  LogFrame,
  ToRuntime,
} from '../../runtime-node/protocol.ts';
import type { ProcessConfinement } from './isolation.ts';
import type { PayloadFormat } from '../../proto/invoke-frames.ts';
import { guardChannel } from './runtime-channel.ts';
import {
  parseInvocationFrame,
  parseRuntimeMessage,
  RuntimeProtocolError,
} from './runtime-messages.ts';

export const RUNTIME_DIR = join(import.meta.dirname, '..', '..', 'runtime-node');

export interface RuntimeProcessOptions {
  /** A directory of its own: code/ is linked in at specialisation, tmp/ is writable. */
  slotDir: string;
  /** V8 old-space limit. */
  memoryMiB: number;
  nodeBinary?: string;
  /** Its own user, cgroup and limits, released once it has exited and its slot is gone. */
  confinement?: ProcessConfinement;
}

export interface FunctionIdentity {
  functionName: string;
  functionVersion: string;
  memoryMiB: number;
}

export type InvokeReply =
  | { ok: true; result: Uint8Array | undefined; durationMs: number }
  | ({ ok: false; durationMs: number } & FunctionFailure);

export type LogMessage = LogFrame;

export class ProcessExitedError extends RoostError {
  readonly exit: Exit;
  readonly outOfMemory: boolean;
  constructor(exit: Exit, outOfMemory: boolean, detail: string) {
    super(
      'ROOST_RUNTIME_EXITED',
      `the function process exited (${describeExit(exit)})${detail ? `: ${detail}` : ''}`,
    );
    this.exit = exit;
    this.outOfMemory = outOfMemory;
  }
}

export class SpecializeError extends RoostError {
  readonly failure: FunctionFailure;
  constructor(failure: FunctionFailure) {
    super('ROOST_FUNCTION_LOAD', `${failure.errorType}: ${failure.errorMessage}`);
    this.failure = failure;
  }
}

/** The line of a dying process's stderr that says why: "Error: boom", "FATAL ERROR: ... heap out of memory". */
export function crashSummary(stderr: string[]): string {
  const lines = stderr.map((l) => l.trim()).filter(Boolean);
  const why = lines.findLast((l) => /^(\w+(Error|Exception)|Error|FATAL ERROR|Uncaught)\b/.test(l));
  return (
    why ?? lines.filter((l) => !l.startsWith('Node.js v') && !l.startsWith('at ')).at(-1) ?? ''
  );
}

export function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

let nextId = 0;
/** The pending-request id of the one specialisation a process ever does. */
const SPECIALIZE_ID = 0;

export class RuntimeProcess {
  readonly slotDir: string;
  readonly memoryMiB: number;
  /** The process's own user id, or undefined when it shares the sidecar's. */
  readonly uid: number | undefined;
  /** Its memory limit is a cgroup's, enforced by the kernel; otherwise the sidecar samples it. */
  readonly memoryEnforcedByKernel: boolean;
  readonly booted: Promise<void>;
  readonly exited: Promise<ProcessExitedError>;
  /** Lines the function printed, and what the process wrote outside the runtime's capture. */
  onLog: (message: LogMessage) => void = () => {};
  readonly #process: ManagedProcess;
  /** The socket pair invocations travel on (frames); control stays on the IPC channel. */
  readonly #invocations: Socket;
  readonly #writer: FrameWriter;
  readonly #pending = new Map<
    number,
    { resolve: (value: never) => void; reject: (err: Error) => void }
  >();
  #onBooted: (() => void) | undefined;
  #exitError: ProcessExitedError | undefined;
  /** Why the process was killed for breaking the runtime protocol, if it was. */
  #breachError: RuntimeProtocolError | undefined;
  /** Set by the owner to name the request a raw stderr line most likely belongs to. */
  currentRequestId: () => string = () => '';

  constructor(options: RuntimeProcessOptions) {
    this.slotDir = options.slotDir;
    this.memoryMiB = options.memoryMiB;
    const confinement = options.confinement;
    this.uid = confinement?.uid;
    this.memoryEnforcedByKernel = confinement?.cgroup !== undefined;
    // Both directories must exist before the process starts: the permission
    // model treats a path that does not exist yet as a single file, not a tree.
    mkdirSync(join(this.slotDir, 'tmp'), { recursive: true });
    mkdirSync(join(this.slotDir, 'code'), { recursive: true });
    // Node takes a .js file's module type from the nearest package.json. A
    // function that ships none must not inherit one from wherever the host
    // keeps its data (roost dev: inside this project, "type": "module"). This
    // one has no "type", so Node decides by the file's own syntax.
    writeFileSync(join(this.slotDir, 'code', 'package.json'), '{}\n');
    const tmp = join(this.slotDir, 'tmp');
    if (this.uid !== undefined) {
      // The slot and its tmp belong to the function's user alone; code/ stays
      // the sidecar's (read-only to the function) until its copy is put in.
      chownSync(this.slotDir, this.uid, this.uid);
      chmodSync(this.slotDir, 0o700);
      chownSync(tmp, this.uid, this.uid);
      chmodSync(tmp, 0o700);
    }
    const node = options.nodeBinary ?? process.execPath;
    const nodeArgs = [
      '--permission',
      `--allow-fs-read=${RUNTIME_DIR}`,
      `--allow-fs-read=${join(this.slotDir, 'code')}`,
      `--allow-fs-read=${tmp}`,
      `--allow-fs-write=${tmp}`,
      `--max-old-space-size=${options.memoryMiB}`,
      // A link inside the function's own code must stay the path the
      // permission model was given; resolved, it might point elsewhere.
      '--preserve-symlinks',
      '--preserve-symlinks-main',
      '--disable-warning=ExperimentalWarning',
      join(RUNTIME_DIR, 'runtime.js'),
    ];
    const command = confinement?.wrap(node, nodeArgs) ?? { command: node, args: nodeArgs };
    this.#process = startProcess({
      name: `runtime-node ${this.slotDir}`,
      command: command.command,
      args: command.args,
      uid: confinement?.spawnAsUid,
      gid: confinement?.spawnAsUid,
      env: { HOME: tmp, TMPDIR: tmp, LANG: 'C.UTF-8' },
      cwd: tmp,
      ipc: true,
      socketPair: true,
      keepStderrLines: 30,
      onLine: (line) =>
        this.onLog({
          type: 'log',
          time: Date.now(),
          level: 'error',
          requestId: this.currentRequestId(),
          message: line,
          stream: 'stderr',
        }),
    });
    // Into its cgroup at once, while it is still loading the runtime: no
    // function code runs before the sidecar sends it, after boot, and boot
    // counts only once the move is done.
    const pid = this.#process.pid;
    const attached = confinement && pid !== undefined ? confinement.attach(pid) : Promise.resolve();
    attached.catch(() => this.#process.kill('SIGKILL'));
    const bootedMessage = new Promise<void>((resolve, reject) => {
      this.#onBooted = resolve;
      void this.#process.exited.then(() => reject(this.#exitError));
    });
    bootedMessage.catch(() => {});
    this.booted = Promise.all([bootedMessage, attached]).then(() => undefined);
    this.booted.catch(() => {});
    // Anything on the channel or the invocation socket may come from the
    // function's own code: checked, and a process that breaks the protocol is
    // killed, failing alone.
    guardChannel(this.#process.child, (err) => this.#breach(err));
    this.#process.child.on('message', (raw: unknown) => {
      let message: FromRuntime;
      try {
        message = parseRuntimeMessage(raw);
      } catch (err) {
        this.#breach(err as RuntimeProtocolError);
        return;
      }
      this.#onMessage(message);
    });
    this.#invocations = this.#process.child.stdio[4] as Socket;
    this.#writer = new FrameWriter(this.#invocations);
    const replies = new FrameReader({
      maxFrameBytes: MAX_FRAME_BYTES,
      codecs: [REPLY_HEADER, LOG_HEADER],
      onFrame: (frame: unknown, body: Buffer) => this.#onFrame(frame, body),
    });
    this.#invocations.on('data', (chunk: Buffer) => {
      try {
        replies.push(chunk);
      } catch (err) {
        this.#breach(
          err instanceof RuntimeProtocolError
            ? err
            : new RuntimeProtocolError(`an invalid invocation frame (${(err as Error).message})`),
        );
      }
    });
    // A socket error means the process is gone or going: its exit settles what was pending.
    this.#invocations.on('error', () => undefined);
    this.exited = this.#process.exited.then((exit) => {
      const tail = this.#process.stderrTail.join('\n');
      // Read before the cgroup goes: a kill by the kernel leaves no line on stderr.
      const killedByKernel = confinement?.kernelOutOfMemory();
      const outOfMemory =
        killedByKernel !== undefined ||
        /heap out of memory|heap limit|Allocation failed/i.test(tail);
      const detail =
        this.#breachError?.message ?? killedByKernel ?? crashSummary(this.#process.stderrTail);
      this.#exitError = new ProcessExitedError(exit, outOfMemory, detail);
      for (const pending of this.#pending.values()) pending.reject(this.#exitError);
      this.#pending.clear();
      rmSync(this.slotDir, { recursive: true, force: true });
      // Only now, with nothing of it left, may its user id go to another function.
      confinement?.release();
      return this.#exitError;
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get alive(): boolean {
    return !this.#exitError && this.#process.exit === undefined;
  }

  /** Copies the code into the slot and loads the handler; throws SpecializeError or ProcessExitedError. */
  async specialize(
    codeDir: string,
    handler: string,
    env: Record<string, string>,
    identity: FunctionIdentity,
  ): Promise<number> {
    await this.booted;
    const ownCode = join(this.slotDir, 'code', 'function');
    await cp(codeDir, ownCode, { recursive: true, verbatimSymlinks: true });
    if (this.uid !== undefined) await chownTree(ownCode, this.uid);
    const reply = await this.#request<
      Extract<FromRuntime, { type: 'specialized' | 'specialize-failed' }>
    >({ type: 'specialize', codeDir: ownCode, handler, env, ...identity }, (resolve, reject) =>
      this.#pending.set(SPECIALIZE_ID, { resolve, reject }),
    );
    if (reply.type === 'specialize-failed') throw new SpecializeError(reply);
    return reply.loadMs;
  }

  invoke(
    input: { requestId: string; payload: Uint8Array; format?: PayloadFormat },
    deadline: number,
  ): Promise<InvokeReply> {
    if (this.#exitError || this.#process.exit)
      return Promise.reject(this.#exitError ?? new Error('the function process has exited'));
    const id = ++nextId;
    const frame: InvokeFrame = {
      id,
      requestId: input.requestId,
      deadline,
      httpRequest: input.format === 'http-request',
    };
    return new Promise<InvokeReply>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: never) => void, reject });
      this.#writer.write(frame, input.payload, INVOKE_HEADER);
    });
  }

  /** True if the process answers within timeoutMs (its event loop is not blocked). */
  async ping(timeoutMs: number): Promise<boolean> {
    const id = ++nextId;
    const answered = this.#request<true>({ type: 'ping', id }, (resolve, reject) =>
      this.#pending.set(id, { resolve, reject }),
    ).catch(() => false);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)),
    );
    const result = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    this.#pending.delete(id);
    return result;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#process.kill(signal);
  }

  async stop(graceMs = 1000): Promise<void> {
    await this.#process.stop(graceMs);
    await this.exited;
  }

  #request<T>(
    message: ToRuntime,
    register: (resolve: (value: T) => void, reject: (err: Error) => void) => void,
  ): Promise<T> {
    if (this.#exitError || this.#process.exit)
      return Promise.reject(this.#exitError ?? new Error('the function process has exited'));
    return new Promise<T>((resolve, reject) => {
      register(resolve, reject);
      try {
        this.#process.child.send(message);
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  #onMessage(message: FromRuntime): void {
    switch (message.type) {
      case 'booted':
        this.#onBooted?.();
        return;
      case 'specialized':
      case 'specialize-failed':
        this.#settle(SPECIALIZE_ID, message);
        return;
      case 'pong':
        this.#settle(message.id, true);
        return;
    }
  }

  /** A frame from the invocation socket: a log line, or the reply to an invocation. */
  #onFrame(raw: unknown, body: Buffer): void {
    const frame = parseInvocationFrame(raw);
    if ('type' in frame) return this.onLog(frame);
    if (frame.ok) {
      this.#settle(frame.id, {
        ok: true,
        result: frame.hasResult ? body : undefined,
        durationMs: frame.durationMs,
      });
      return;
    }
    const { id, ...failure } = frame;
    this.#settle(id, failure);
  }

  /** The process broke the protocol: it is killed, and its exit says why. */
  #breach(err: RuntimeProtocolError): void {
    if (this.#breachError) return;
    this.#breachError = err;
    // Said in the function's own logs too, where its owner looks first.
    this.onLog({
      type: 'log',
      time: Date.now(),
      level: 'error',
      requestId: '',
      message: `${err.message}; the process was killed`,
      stream: 'stderr',
    });
    this.#process.kill('SIGKILL');
  }

  #settle(id: number, value: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.resolve(value as never);
  }
}

/** Gives a copied tree to the function's user (links themselves, never what they point to). */
async function chownTree(dir: string, uid: number): Promise<void> {
  await lchown(dir, uid, uid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid);
    else await lchown(path, uid, uid);
  }
}
