// A light steady load for the fault suite: one request every `intervalMs`,
// each recorded with when it was sent and how it ended, so that a scenario
// can count what failed and when.

export interface Outcome {
  sentAt: number;
  /** HTTP status, or 0 when no response came (connection refused, timeout). */
  status: number;
  error?: string;
}

export class SteadyLoad {
  readonly outcomes: Outcome[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #pending = new Set<Promise<void>>();

  constructor(url: string, intervalMs = 200, timeoutMs = 10_000) {
    this.#timer = setInterval(() => {
      const sentAt = Date.now();
      const request = fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
        .then(async (response) => {
          const body = await response.text();
          this.outcomes.push({
            sentAt,
            status: response.status,
            ...(response.status === 200 ? {} : { error: body.slice(0, 300) }),
          });
        })
        .catch((err: Error) => {
          this.outcomes.push({
            sentAt,
            status: 0,
            error: err.cause ? String(err.cause) : err.message,
          });
        })
        .finally(() => this.#pending.delete(request));
      this.#pending.add(request);
    }, intervalMs);
  }

  /** Outcomes of requests sent from `since` on. */
  since(since: number): { sent: number; failed: Outcome[] } {
    const window = this.outcomes.filter((o) => o.sentAt >= since);
    return { sent: window.length, failed: window.filter((o) => o.status !== 200) };
  }

  /** Stops sending and waits for what is in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
  }
}

/** One row of FAULTS.md, printed as the scenario ends. */
export function report(row: {
  fault: string;
  load: string;
  sent: number;
  failed: number;
  recoveredInMs: number | undefined;
  note: string;
}): void {
  console.log(
    `FAULTS | ${row.fault} | ${row.load} | ${row.failed} of ${row.sent} | ${row.recoveredInMs === undefined ? '-' : `${(row.recoveredInMs / 1000).toFixed(1)} s`} | ${row.note} |`,
  );
}
