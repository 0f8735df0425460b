// What the invoker needs from a connection to one sidecar, whatever carries
// it (frame-channel.ts today), and the ways an invocation on it can fail. The
// retry rule (a request goes to another Sandbox only if no function saw it)
// is expressed here: InvocationRejected and ChannelBroken say `notInvoked`.
import type { ServiceError } from '@grpc/grpc-js';
import type { InvokeRequest, InvokeResponse } from '../proto/sandbox-host.ts';
import { RoostError } from '../lib/errors.ts';
import type { PayloadFormat } from '../proto/invoke-frames.ts';

/** One invocation for a sidecar; its payload is JSON unless `format` says otherwise. */
export type ChannelInvocation = Omit<InvokeRequest, 'streamId'> & { format?: PayloadFormat };

export interface InvocationChannel {
  readonly address: string;
  /** Sends one invocation; throws InvocationRejected, ChannelBroken or ChannelTimeout. */
  invoke(request: ChannelInvocation, timeoutMs: number): Promise<InvokeResponse>;
  /** Invocations sent and not yet answered. */
  readonly pending: number;
  close(): void;
}

/** The sidecar refused the invocation (see Rejection in the proto). */
export class InvocationRejected extends RoostError {
  readonly grpcCode: number;
  readonly notInvoked: boolean;
  /** The refusing side's own stable code, where it sends one (the JVM bridge does). */
  readonly errorCode: string | undefined;
  constructor(grpcCode: number, message: string, notInvoked: boolean, errorCode?: string) {
    super('ROOST_INVOCATION_REJECTED', message);
    this.grpcCode = grpcCode;
    this.notInvoked = notInvoked;
    this.errorCode = errorCode;
  }
}

/** The connection broke with the invocation on it. */
export class ChannelBroken extends RoostError {
  /** The invocation was never delivered to the sidecar, so it cannot have run. */
  readonly notInvoked: boolean;
  constructor(address: string, cause: ServiceError | Error, notInvoked: boolean) {
    super(
      'ROOST_CHANNEL_BROKEN',
      `The connection to sidecar ${address} failed: ${(cause as ServiceError).details || cause.message}`,
      { cause },
    );
    this.notInvoked = notInvoked;
  }
}

export class ChannelTimeout extends RoostError {
  constructor(address: string, timeoutMs: number) {
    super('ROOST_CHANNEL_TIMEOUT', `No answer from sidecar ${address} within ${timeoutMs} ms`);
  }
}

/**
 * The connection did not come up in time: the peer's address answers nothing
 * (a pod IP gone in a node drain). The cause of a ChannelBroken, notInvoked.
 */
export class ConnectTimeout extends RoostError {
  constructor(address: string, timeoutMs: number) {
    super(
      'ROOST_CHANNEL_CONNECT_TIMEOUT',
      `Cannot connect to sidecar ${address}: no answer within ${timeoutMs} ms`,
    );
  }
}
