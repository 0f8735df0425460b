// A `roost <command>` child of `roost dev`, kept running: it logs to a file,
// is ready when a line of its output matches, and is restarted with back-off
// (lib/supervisor.ts) if it dies on its own, so that a crash in development
// is a message, not a dead environment.
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { RoostError } from '../../lib/errors.ts';
import { Supervisor } from '../../lib/supervisor.ts';

const ROOST = join(import.meta.dirname, '..', 'roost.ts');

export interface ComponentProcessOptions {
  name: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** Its first capture group (or the whole match) is the component's address. */
  ready: RegExp;
  /** A line whose first capture group is the component's metrics URL, said before `ready`. */
  metrics?: RegExp;
  /** Said when it died (and when a restart failed): one line, for the person running roost dev. */
  onRestart: (message: string) => void;
  /** After a restarted process is ready: its pid has changed. */
  onRestarted?: () => void;
}

interface Started {
  process: ManagedProcess;
  address: string;
  metricsUrl: string | undefined;
  exited: ManagedProcess['exited'];
}

export class ComponentProcess {
  readonly #options: ComponentProcessOptions;
  #supervisor: Supervisor<Started> | undefined;

  constructor(options: ComponentProcessOptions) {
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#supervisor?.current.process.pid;
  }

  get address(): string {
    return this.#supervisor?.current.address ?? '';
  }

  get metricsUrl(): string | undefined {
    return this.#supervisor?.current.metricsUrl;
  }

  get restarts(): number {
    return this.#supervisor?.restarts ?? 0;
  }

  /** Starts it and resolves with its address once it is ready. */
  async start(timeoutMs = 60_000): Promise<string> {
    const { name, logFile } = this.#options;
    this.#supervisor = await Supervisor.start({
      name,
      start: () => this.#launch(timeoutMs),
      onExit: ({ exit, waitMs }) =>
        this.#options.onRestart(
          `${name} exited (code ${exit.code}, signal ${exit.signal}); restarting in ${Math.round(waitMs)} ms (log: ${logFile})`,
        ),
      onStartFailed: ({ error, waitMs }) =>
        this.#options.onRestart(
          `${name} could not be restarted (${error instanceof Error ? error.message : String(error)}); trying again in ${Math.round(waitMs)} ms`,
        ),
      onRestarted: (started, { restarts }) => {
        this.#options.onRestart(
          `${name} restarted (pid ${started.process.pid}, restart ${restarts})`,
        );
        this.#options.onRestarted?.();
      },
    });
    return this.address;
  }

  async stop(): Promise<void> {
    await this.#supervisor?.stop((started) => started.process.stop(10_000));
  }

  async #launch(timeoutMs: number): Promise<Started> {
    let resolveReady!: (address: string) => void;
    let metricsUrl: string | undefined;
    const ready = new Promise<string>((resolve) => (resolveReady = resolve));
    const process = startProcess({
      name: this.#options.name,
      command: globalThis.process.execPath,
      args: [ROOST, ...this.#options.args],
      env: { ...globalThis.process.env, ROOST_EXIT_WITH_PARENT: '1', ...this.#options.env },
      logFile: this.#options.logFile,
      keepStderrLines: 20,
      onLine: (line) => {
        const metrics = this.#options.metrics?.exec(line);
        if (metrics) metricsUrl = metrics[1];
        const match = this.#options.ready.exec(line);
        if (match) resolveReady(match[1] ?? match[0]);
      },
    });
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
      const address = await Promise.race([ready, exited, timeout]);
      return { process, address, metricsUrl, exited: process.exited };
    } catch (err) {
      await process.stop(1000);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
