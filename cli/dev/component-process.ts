// A `roost <command>` child of `roost dev`, kept running: it logs to a file,
// is ready when a line of its output matches, and is restarted (with a short
// back-off) if it dies on its own, so that a crash in development is a
// message, not a dead environment.
import { join } from 'node:path';
import { Backoff } from '../../lib/backoff.ts';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { RoostError } from '../../lib/errors.ts';

const ROOST = join(import.meta.dirname, '..', 'roost.ts');

export interface ComponentProcessOptions {
  name: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** Its first capture group (or the whole match) is the component's address. */
  ready: RegExp;
  onRestart: (message: string) => void;
}

export class ComponentProcess {
  readonly #options: ComponentProcessOptions;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
  #process: ManagedProcess | undefined;
  #stopped = false;
  address = '';

  constructor(options: ComponentProcessOptions) {
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts it and resolves with its address once it is ready. */
  async start(timeoutMs = 60_000): Promise<string> {
    let resolveReady!: (address: string) => void;
    const ready = new Promise<string>((resolve) => (resolveReady = resolve));
    const process = startProcess({
      name: this.#options.name,
      command: globalThis.process.execPath,
      args: [ROOST, ...this.#options.args],
      env: { ...globalThis.process.env, ROOST_EXIT_WITH_PARENT: '1', ...this.#options.env },
      logFile: this.#options.logFile,
      keepStderrLines: 20,
      onLine: (line) => {
        const match = this.#options.ready.exec(line);
        if (match) resolveReady(match[1] ?? match[0]);
      },
    });
    this.#process = process;
    const exited = process.exited.then((exit) => {
      throw new RoostError(
        'ROOST_DEV_COMPONENT',
        `${this.#options.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready; see ${this.#options.logFile}:\n${process.stderrTail.join('\n')}`,
      );
    });
    exited.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RoostError(
              'ROOST_DEV_COMPONENT',
              `${this.#options.name} was not ready within ${timeoutMs / 1000} s; see ${this.#options.logFile}`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      this.address = await Promise.race([ready, exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
    void process.exited.then((exit) => {
      if (this.#stopped || this.#process !== process) return;
      const wait = this.#backoff.next();
      this.#options.onRestart(
        `${this.#options.name} exited (code ${exit.code}, signal ${exit.signal}); restarting in ${Math.round(wait)} ms (log: ${this.#options.logFile})`,
      );
      setTimeout(() => {
        if (!this.#stopped)
          this.start().catch((err: Error) => this.#options.onRestart(err.message));
      }, wait);
    });
    return this.address;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#process?.stop(10_000);
  }
}
