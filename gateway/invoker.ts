// Sends one invocation to one of a function's ready Sandboxes. A refusal that
// happened before any function ran (no connection, the Sandbox unknown, not
// ready, draining, or its queue full) is retried on another Sandbox; once a
// function has run, its outcome is final, so nothing runs twice.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { InvokeResponse } from '../proto/sandbox-host.ts';
import type { PayloadFormat } from '../proto/invoke-frames.ts';
import type { Withdrawable } from '../lib/withdrawable.ts';
import type { Activator } from './activator.ts';
import { pickTwoChoices } from './balancer.ts';
import {
  ChannelBroken,
  ChannelTimeout,
  InvocationRejected,
  type SidecarChannels,
} from './channels.ts';
import { GatewayError, badRequest, functionTimeout, invocationWithdrawn } from './errors.ts';
import type { Endpoint, EndpointPool, FunctionEntry } from './function-table.ts';

export interface Invocation {
  requestId: string;
  /** The event as JSON, or an HTTP request in compact form (`format`). */
  payload: Buffer;
  format?: PayloadFormat;
  metadata: Record<string, string>;
  timeoutMs: number;
  /** Ask the sidecar for the invocation's last log lines (InvokeResponse.logTail). */
  tailLogs?: boolean;
  /** An event its sender may take back: it is started right before it goes to a Sandbox, or not at all. */
  withdrawable?: Withdrawable;
}

/** An endpoint that refused is left aside this long before it is tried again. */
const SUSPECT_MS = 1000;
/** A Sandbox whose queue was full is left aside only briefly: it drains fast. */
const BUSY_MS = 50;

export class Invoker {
  readonly #channels: SidecarChannels;
  readonly #activator: Activator;

  constructor(channels: SidecarChannels, activator: Activator) {
    this.#channels = channels;
    this.#activator = activator;
  }

  /** Invokes one of the pool's endpoints (any of the function's without one); says which revision answered. */
  async invoke(
    entry: FunctionEntry,
    invocation: Invocation,
    pool?: EndpointPool,
  ): Promise<InvokeResponse & { revision?: number }> {
    const started = performance.now();
    const deadline = started + invocation.timeoutMs;
    // Made on the first refusal: most invocations are answered by the first endpoint tried.
    let tried: Set<Endpoint> | undefined;
    if (pool?.wakeable && pool.revision !== undefined)
      this.#activator.keepAwake(entry, pool.revision);
    for (;;) {
      const available = entry.available(undefined, pool);
      const candidates = tried ? available.filter((e) => !tried!.has(e)) : available;
      if (candidates.length === 0) {
        // Nothing ready (at zero, starting, every one busy or refusing): the
        // activator holds the request, as demand the autoscaler sees, until
        // an endpoint is available again or the wait runs out (503); only a
        // full hold queue refuses with 429.
        await this.#activator.waitForEndpoint(entry, deadline, pool);
        tried?.clear();
        continue;
      }
      if (invocation.withdrawable && !invocation.withdrawable.start())
        throw invocationWithdrawn(invocation.requestId);
      const endpoint = pickTwoChoices(candidates)!;
      endpoint.inFlight++;
      try {
        const remaining = Math.max(1, Math.round(deadline - performance.now()));
        const response = await this.#channels.get(endpoint.address).invoke(
          {
            namespace: entry.namespace,
            sandbox: endpoint.sandbox,
            requestId: invocation.requestId,
            payload: invocation.payload,
            format: invocation.format,
            metadata: invocation.metadata,
            timeoutMs: remaining,
            tailLogs: invocation.tailLogs ?? false,
          },
          // The function enforces its own timeout; the margin lets its answer arrive.
          remaining + 1000,
        );
        // The response is this invocation's own object: it carries the revision without a copy.
        if (endpoint.revision !== undefined)
          (response as InvokeResponse & { revision?: number }).revision = endpoint.revision;
        return response;
      } catch (err) {
        if (err instanceof ChannelTimeout) throw functionTimeout(invocation.timeoutMs);
        if (err instanceof InvocationRejected && err.grpcCode === GrpcStatus.INVALID_ARGUMENT)
          throw badRequest(err.message);
        const notInvoked =
          (err instanceof InvocationRejected || err instanceof ChannelBroken) && err.notInvoked;
        if (!notInvoked)
          throw new GatewayError(
            502,
            'ROOST_UPSTREAM_FAILED',
            `The Sandbox failed mid-request: ${(err as Error).message}`,
          );
        (tried ??= new Set()).add(endpoint);
        if (err instanceof InvocationRejected && err.grpcCode === GrpcStatus.RESOURCE_EXHAUSTED) {
          endpoint.suspectUntil = performance.now() + BUSY_MS;
        } else {
          endpoint.suspectUntil = performance.now() + SUSPECT_MS;
        }
      } finally {
        endpoint.inFlight--;
      }
    }
  }
}
