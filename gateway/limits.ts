// What the gateway holds at most, in one place with its defaults: the
// connections it keeps, how long a client may take to send a request, how
// long an idle keep-alive connection stays, how many request bodies it keeps
// in memory at once, and how many requests it holds for functions that are
// starting. Each default is a promise to the clients that behave (a 6 MB
// upload on a slow link, a load balancer's pooled connections) and a bound on
// the ones that do not (slowloris, idle sockets by the thousand, a flood of
// uploads).

export interface GatewayLimits {
  /** Open client connections; beyond it new ones are closed at once (default 10 000). */
  maxConnections: number;
  /** A client must have sent its complete headers this long after starting a request (default 10 s). */
  headersTimeoutMs: number;
  /** ...and its complete body this long after starting it (default 60 s: 6 MB at 100 KB/s). */
  requestTimeoutMs: number;
  /**
   * An idle keep-alive connection is closed after this long (default 65 s:
   * longer than a cloud load balancer's 60 s idle timeout, so that the
   * balancer, not the gateway, closes a pooled connection, and never just as
   * it sends on it). Under connection pressure, idle ones go at once.
   */
  keepAliveTimeoutMs: number;
  /**
   * Memory for request bodies held at once, across all requests (default
   * 256 MiB), each body counted MEMORY_PER_BODY_BYTE times its size.
   */
  bodyMemoryBytes: number;
  /** Requests held for one function with no ready Sandbox (default 1000). */
  maxHeldPerFunction: number;
  /** Requests held across all functions (default 10 000). */
  maxHeldTotal: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  maxConnections: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  bodyMemoryBytes: 256 * 1024 * 1024,
  maxHeldPerFunction: 1000,
  maxHeldTotal: 10_000,
};

/** Idle connections are closed once open ones reach this share of maxConnections. */
export const IDLE_RECLAIM_SHARE = 0.9;

/**
 * What a body costs the gateway while its request runs, per byte of body:
 * the payload built from it (base64 inside JSON: 4/3 of it), the copy gRPC
 * framed and sent (as much again), and the body itself while the payload is
 * built. Measured with `npm run bench:uploads` when invocations went over
 * gRPC; invocation frames write a payload over 16 KiB as it is, without a
 * copy, so for large bodies this now counts more than is held (on the safe
 * side) until bench:uploads is measured again.
 */
export const MEMORY_PER_BODY_BYTE = 3;
