// A typed client of a sidecar's SandboxHost service, for gateways, tools and
// tests. One instance is one HTTP/2 channel to one sidecar.
import {
  credentials,
  Metadata,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  SandboxHostClient,
  type HealthResponse,
  type InvokeRequest,
  type InvokeResponse,
  type LogEntry,
  type LogsRequest,
  type StatsRequest,
  type StatsResponse,
} from '../proto/sandbox-host.ts';

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, response: Res) => void,
) => void;

interface RawClient extends Client {
  invoke: Unary<Partial<InvokeRequest>, InvokeResponse>;
  stats: Unary<Partial<StatsRequest>, StatsResponse>;
  health: Unary<object, HealthResponse>;
  logs(
    request: Partial<LogsRequest>,
    metadata: Metadata,
    options?: { deadline?: number },
  ): ClientReadableStream<LogEntry>;
  invokeStream(metadata: Metadata): ClientDuplexStream<Partial<InvokeRequest>, InvokeResponse>;
}

export class SandboxHostConnection {
  readonly address: string;
  readonly #client: RawClient;
  readonly #metadata: Metadata;

  constructor(address: string, token: string) {
    this.address = address;
    this.#client = new SandboxHostClient(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
    }) as unknown as RawClient;
    this.#metadata = new Metadata();
    if (token) this.#metadata.set('authorization', `Bearer ${token}`);
  }

  invoke(
    request: Partial<InvokeRequest>,
    options: { deadlineMs?: number } = {},
  ): Promise<InvokeResponse> {
    return this.#unary(this.#client.invoke, request, options.deadlineMs);
  }

  stats(request: Partial<StatsRequest> = {}): Promise<StatsResponse> {
    return this.#unary(this.#client.stats, request, 10_000);
  }

  health(): Promise<HealthResponse> {
    return this.#unary(this.#client.health, {}, 5_000);
  }

  /**
   * A server stream of log entries; cancel() it to stop following. A deadline
   * bounds a query of past lines when the sidecar may be unreachable.
   */
  logs(
    request: Partial<LogsRequest>,
    options: { deadlineMs?: number } = {},
  ): ClientReadableStream<LogEntry> {
    if (options.deadlineMs === undefined) return this.#client.logs(request, this.#metadata);
    return this.#client.logs(request, this.#metadata, {
      deadline: Date.now() + options.deadlineMs,
    });
  }

  /** A long-lived stream of invocations, answered by stream id (see the proto). */
  invokeStream(): ClientDuplexStream<Partial<InvokeRequest>, InvokeResponse> {
    return this.#client.invokeStream(this.#metadata);
  }

  close(): void {
    this.#client.close();
  }

  #unary<Req, Res>(
    method: Unary<Req, Res>,
    request: Req,
    deadlineMs: number | undefined,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
      method.call(this.#client, request, this.#metadata, options, (err, response) =>
        err ? reject(err) : resolve(response),
      );
    });
  }
}
