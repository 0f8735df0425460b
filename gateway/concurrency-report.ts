// What a gateway tells the autoscaler: per function, the average in-flight
// requests over the last second (including ones held for a cold function).

export const CONCURRENCY_PATH = '/internal/concurrency';

export interface ConcurrencyReport {
  gateway: string;
  functions: {
    namespace: string;
    name: string;
    averageConcurrency: number;
    inFlight: number;
    /** Requests the activator holds because the function has no ready Sandbox. */
    held: number;
    /** Events waiting in the durable queue; the same figure in every gateway's report. */
    queued?: number;
    /** Requests that started in the last second. */
    requests: number;
  }[];
}
