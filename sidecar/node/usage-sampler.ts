// Resident memory and CPU time of every function process, sampled once a
// second in one pidusage call (it reads /proc/<pid>/stat, well under a
// millisecond per process), so that memory limits are enforced on RSS and
// Stats can report usage.
import pidusage from 'pidusage';
import type { Logger } from '../../lib/log.ts';

export interface Usage {
  rssBytes: number;
  /** CPU time since the process started, in seconds. */
  cpuSeconds: number;
}

type Listener = (usage: Usage) => void;

export class UsageSampler {
  readonly #listeners = new Map<number, Listener>();
  readonly #timer: NodeJS.Timeout;
  readonly #log: Logger;
  #busy = false;

  constructor(options: { intervalMs?: number; log: Logger }) {
    this.#log = options.log;
    this.#timer = setInterval(() => void this.sampleNow(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  watch(pid: number, listener: Listener): () => void {
    this.#listeners.set(pid, listener);
    return () => this.#listeners.delete(pid);
  }

  async sampleNow(): Promise<void> {
    if (this.#busy || this.#listeners.size === 0) return;
    this.#busy = true;
    try {
      const pids = [...this.#listeners.keys()];
      const stats = await pidusage(pids).catch(async () => {
        // One pid gone mid-call fails the batch; ask one by one instead.
        const each = await Promise.all(
          pids.map((pid) =>
            pidusage(pid).then(
              (s) => [pid, s] as const,
              () => undefined,
            ),
          ),
        );
        return Object.fromEntries(each.filter((e) => e !== undefined));
      });
      for (const [pid, stat] of Object.entries(stats)) {
        if (!stat) continue;
        this.#listeners.get(Number(pid))?.({
          rssBytes: stat.memory,
          cpuSeconds: stat.ctime / 1000,
        });
      }
    } catch (err) {
      this.#log.debug({ err: String(err) }, 'usage sampling failed');
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
    pidusage.clear();
  }
}
