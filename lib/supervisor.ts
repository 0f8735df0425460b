// Keeps one process running, as a kubelet keeps a container with
// restartPolicy Always: when it dies on its own it is started again after a
// back-off that grows with each death in a row and starts afresh after a run
// long enough to count as healthy, and every death and restart is told to the
// caller, never left silent. What a "run" is (a `roost` component, a sidecar,
// the JVM bridge) and when it counts as started is the caller's: `start`
// resolves once the new run is ready. A new kind of process is one more
// Supervisor, not another restart loop.
//
//   const gateway = await Supervisor.start({
//     name: 'roost gateway',
//     start: () => launchGateway(),
//     onExit: ({ exit, waitMs }) => say(`roost gateway exited; restarting in ${waitMs} ms`),
//     onRestarted: (run) => writeState(run.pid),
//   });
import { Backoff } from './backoff.ts';
import { sleep } from './duration.ts';
import type { Exit } from './process.ts';

/** What a supervised run must offer: a way to learn that it ended. */
export interface Run {
  readonly exited: Promise<Exit>;
}

export interface SupervisorOptions<R extends Run> {
  /** Shown in messages: "roost gateway", "sidecar roost-system/host-1", "java bridge". */
  name: string;
  /** Starts one run and resolves once it is ready; rejects if it could not start. */
  start(): Promise<R>;
  /** First wait after a death (default 500 ms); each death in a row doubles it. */
  initialBackoffMs?: number;
  /** The longest wait (default 10 s). */
  maxBackoffMs?: number;
  /** A run at least this long before it died counts as healthy: the next wait starts afresh (default 30 s). */
  healthyRunMs?: number;
  /** A run died on its own; a restart follows after `waitMs`. */
  onExit?(event: { exit: Exit; waitMs: number; run: R }): void;
  /** A restart attempt failed; another follows after `waitMs`. */
  onStartFailed?(event: { error: unknown; waitMs: number }): void;
  /** A run that replaced a dead one is ready. `restarts` counts every restart so far. */
  onRestarted?(run: R, event: { restarts: number; exit: Exit }): void | Promise<void>;
}

export class Supervisor<R extends Run> {
  readonly name: string;
  readonly #options: SupervisorOptions<R>;
  readonly #backoff: Backoff;
  readonly #stopping = new AbortController();
  #current: R;
  #startedAt = Date.now();
  #restarts = 0;
  /** True between a death and the ready restart. */
  #down = false;
  /** The restart under way, which stop() waits for. */
  #restarting: Promise<void> | undefined;
  #stopRun: ((run: R) => Promise<unknown>) | undefined;

  private constructor(options: SupervisorOptions<R>, first: R) {
    this.name = options.name;
    this.#options = options;
    this.#backoff = new Backoff({
      initialMs: options.initialBackoffMs ?? 500,
      maxMs: options.maxBackoffMs ?? 10_000,
    });
    this.#current = first;
    this.#watch(first);
  }

  /** Starts the first run (its failure is the caller's, not retried) and supervises from then on. */
  static async start<R extends Run>(options: SupervisorOptions<R>): Promise<Supervisor<R>> {
    return new Supervisor(options, await options.start());
  }

  /** Supervises a run the caller has started already; `start` makes its replacements. */
  static watch<R extends Run>(first: R, options: SupervisorOptions<R>): Supervisor<R> {
    return new Supervisor(options, first);
  }

  /** The current run (the dead one while a restart is pending). */
  get current(): R {
    return this.#current;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** True while the run has died and its replacement is not yet ready. */
  get down(): boolean {
    return this.#down;
  }

  /**
   * Stops supervising and stops the current run with `stopRun`. A restart
   * under way is abandoned; a run it started meanwhile is stopped too.
   */
  async stop(stopRun: (run: R) => Promise<unknown>): Promise<void> {
    this.#stopRun = stopRun;
    this.#stopping.abort();
    await stopRun(this.#current);
    await this.#restarting;
  }

  #watch(run: R): void {
    void run.exited.then((exit) => {
      if (this.#stopping.signal.aborted || run !== this.#current) return;
      this.#restarting = this.#restart(run, exit).finally(() => (this.#restarting = undefined));
    });
  }

  async #restart(dead: R, exit: Exit): Promise<void> {
    this.#down = true;
    if (Date.now() - this.#startedAt >= (this.#options.healthyRunMs ?? 30_000))
      this.#backoff.reset();
    let waitMs = this.#backoff.next();
    this.#options.onExit?.({ exit, waitMs, run: dead });
    for (;;) {
      await sleep(waitMs, this.#stopping.signal);
      if (this.#stopping.signal.aborted) return;
      let next: R;
      try {
        next = await this.#options.start();
      } catch (error) {
        waitMs = this.#backoff.next();
        this.#options.onStartFailed?.({ error, waitMs });
        continue;
      }
      if (this.#stopping.signal.aborted) {
        // stop() came while it started: it stopped the dead run; this one is ours to stop.
        await this.#stopRun?.(next);
        return;
      }
      this.#current = next;
      this.#startedAt = Date.now();
      this.#restarts++;
      this.#down = false;
      this.#watch(next);
      await this.#options.onRestarted?.(next, { restarts: this.#restarts, exit });
      return;
    }
  }
}
