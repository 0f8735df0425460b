// Load generation for the invocation benchmarks: autocannon, with latencies
// taken from its per-response timings (float milliseconds) because its own
// latency histogram counts whole milliseconds.
import autocannon from 'autocannon';

export interface LoadResult {
  requestsPerSecond: number;
  /** Responses received in the run. */
  total: number;
  latenciesMs: number[];
  errors: number;
  non2xx: number;
}

export async function load(options: {
  url: string;
  connections: number;
  durationSeconds: number;
  overallRate?: number;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
      },
      (err, done) => (err ? reject(err) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, durationMs) => latenciesMs.push(durationMs));
  });
  return {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    latenciesMs,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
