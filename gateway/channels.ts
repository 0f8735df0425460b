// The gateway's connections to sidecars: one HTTP/2 gRPC channel per sidecar
// address, shared by every function that routes there, carrying one
// long-lived InvokeStream on which invocations are multiplexed by id. A
// stream costs a fraction of a unary call per invocation; a broken one is
// reopened on the next invocation.
import { status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { InvokeRequest, InvokeResponse } from '../proto/sandbox-host.ts';
import { SandboxHostConnection } from '../sidecar/client.ts';
import { RoostError } from '../lib/errors.ts';

/** The sidecar refused the invocation (see Rejection in the proto). */
export class InvocationRejected extends RoostError {
  readonly grpcCode: number;
  readonly notInvoked: boolean;
  constructor(grpcCode: number, message: string, notInvoked: boolean) {
    super('ROOST_INVOCATION_REJECTED', message);
    this.grpcCode = grpcCode;
    this.notInvoked = notInvoked;
  }
}

/** The stream broke with the invocation on it. */
export class ChannelBroken extends RoostError {
  /** The sidecar was never reached, so the invocation cannot have run. */
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

interface Pending {
  resolve: (response: InvokeResponse) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class SidecarChannel {
  readonly address: string;
  readonly #connection: SandboxHostConnection;
  readonly #pending = new Map<number, Pending>();
  #stream: ClientDuplexStream<Partial<InvokeRequest>, InvokeResponse> | undefined;
  #answered = false;
  #nextId = 1;

  constructor(address: string, token: string) {
    this.address = address;
    this.#connection = new SandboxHostConnection(address, token);
  }

  /** Sends one invocation; throws InvocationRejected, ChannelBroken or ChannelTimeout. */
  invoke(request: Omit<InvokeRequest, 'streamId'>, timeoutMs: number): Promise<InvokeResponse> {
    const stream = this.#open();
    const streamId = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(streamId);
        reject(new ChannelTimeout(this.address, timeoutMs));
      }, timeoutMs);
      this.#pending.set(streamId, { resolve, reject, timer });
      stream.write({ ...request, streamId });
    });
  }

  /** Invocations sent and not yet answered. */
  get pending(): number {
    return this.#pending.size;
  }

  close(): void {
    this.#stream?.end();
    this.#connection.close();
  }

  #open(): ClientDuplexStream<Partial<InvokeRequest>, InvokeResponse> {
    if (this.#stream) return this.#stream;
    const stream = this.#connection.invokeStream();
    this.#answered = false;
    stream.on('data', (response: InvokeResponse) => {
      this.#answered = true;
      const pending = this.#pending.get(response.streamId);
      if (!pending) return;
      this.#pending.delete(response.streamId);
      clearTimeout(pending.timer);
      if (response.rejection)
        pending.reject(
          new InvocationRejected(
            response.rejection.code,
            response.rejection.message,
            response.rejection.notInvoked,
          ),
        );
      else pending.resolve(response);
    });
    const broken = (err: ServiceError | Error) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      const code = (err as ServiceError).code;
      // Without a single answer on a connection that never came up, nothing reached the sidecar.
      const notInvoked =
        !this.#answered &&
        (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.UNAUTHENTICATED) &&
        /No connection established|ECONNREFUSED|connect|authoriz|token/i.test(
          (err as ServiceError).details ?? err.message,
        );
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer);
        pending.reject(new ChannelBroken(this.address, err, notInvoked));
        this.#pending.delete(id);
      }
    };
    stream.on('error', broken);
    stream.on('end', () => broken(new Error('the sidecar closed the stream')));
    this.#stream = stream;
    return stream;
  }
}

export class SidecarChannels {
  readonly #token: string;
  readonly #channels = new Map<string, SidecarChannel>();

  constructor(token: string) {
    this.#token = token;
  }

  get(address: string): SidecarChannel {
    let channel = this.#channels.get(address);
    if (!channel) {
      channel = new SidecarChannel(address, this.#token);
      this.#channels.set(address, channel);
    }
    return channel;
  }

  /**
   * Closes channels to addresses no longer in use and with nothing in flight.
   * An address leaves the endpoints while requests sent just before are still
   * running there (a scale-down drains them); closing its stream then would
   * fail them mid-request, although they run to completion on the sidecar.
   */
  prune(inUse: Set<string>): void {
    for (const [address, channel] of this.#channels) {
      if (inUse.has(address) || channel.pending > 0) continue;
      channel.close();
      this.#channels.delete(address);
    }
  }

  closeAll(): void {
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
  }
}
