// The HTTP server's defences against clients that hold connections rather
// than use them: a cap on open connections (Node closes new ones beyond it),
// a deadline for a request's headers and for its whole body (slowloris: Node
// answers 408 and closes; a connection that sends nothing at all is held to
// the headers deadline too), an idle keep-alive timeout, and, once open
// connections near the cap, idle keep-alive ones closed at once so that
// clients sending requests get the places.
import { readFileSync } from 'node:fs';
import type { Server, ServerOptions } from 'node:http';
import { RoostError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { IDLE_RECLAIM_SHARE, type GatewayLimits } from './limits.ts';

export class GatewayLimitsError extends RoostError {
  constructor(message: string) {
    super('ROOST_GATEWAY_LIMITS', message);
  }
}

/** Options for http.createServer; some can only be given at construction. */
export function serverOptions(limits: GatewayLimits): ServerOptions {
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new GatewayLimitsError(
      `Cannot start the gateway: the header timeout (${limits.headersTimeoutMs} ms) must not be longer than the request timeout (${limits.requestTimeoutMs} ms)`,
    );
  return {
    keepAlive: true,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the two deadlines above this often (30 s by default, which
    // would let a 10 s deadline run to 40 s).
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
}

/** Caps connections and reclaims idle ones under pressure; returns the count of open ones. */
export function applyConnectionLimits(
  server: Server,
  limits: GatewayLimits,
  log: Logger,
): { open(): number } {
  server.maxConnections = limits.maxConnections;
  let open = 0;
  let warnedAt = 0;
  const reclaimAt = Math.max(1, Math.floor(limits.maxConnections * IDLE_RECLAIM_SHARE));
  server.on('connection', (socket) => {
    open++;
    socket.once('close', () => open--);
    if (open < reclaimAt) return;
    server.closeIdleConnections();
    const now = Date.now();
    if (now - warnedAt > 10_000) {
      warnedAt = now;
      log.warn(
        { open, maxConnections: limits.maxConnections },
        'open connections near the cap; closing idle keep-alive connections',
      );
    }
  });
  server.on('drop', () => {
    const now = Date.now();
    if (now - warnedAt > 10_000) {
      warnedAt = now;
      log.warn(
        { maxConnections: limits.maxConnections },
        'connection cap reached; closing new connections at once',
      );
    }
  });
  return { open: () => open };
}

/**
 * The default connection cap: 10 000, or less where the process may open
 * fewer files, leaving room for the gateway's own (sidecar channels, the API
 * server, logs).
 */
export function defaultMaxConnections(fallback: number): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
    if (Number.isFinite(soft) && soft > 0) return Math.max(64, Math.min(fallback, soft - 512));
  } catch {
    // Not Linux: keep the fallback.
  }
  return fallback;
}
