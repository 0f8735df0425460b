// The gateway's connections to sidecars: one invocation channel per sidecar
// address, shared by every function that routes there (frame-channel.ts: one
// TCP connection carrying invocation frames, reopened after a break, given up
// on if it does not come up within the connect timeout).
import { FrameChannel } from './frame-channel.ts';
import type { InvocationChannel } from './invocation-channel.ts';

export {
  ChannelBroken,
  ChannelTimeout,
  InvocationRejected,
  type InvocationChannel,
} from './invocation-channel.ts';

export class SidecarChannels {
  readonly #token: string;
  readonly #connectTimeoutMs: number | undefined;
  readonly #channels = new Map<string, InvocationChannel>();

  /** `connectTimeoutMs`: see FrameChannel (default DEFAULT_CONNECT_TIMEOUT_MS). */
  constructor(token: string, options: { connectTimeoutMs?: number } = {}) {
    this.#token = token;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  get(address: string): InvocationChannel {
    let channel = this.#channels.get(address);
    if (!channel) {
      channel = new FrameChannel(address, this.#token, {
        binaryHeaders: true,
        connectTimeoutMs: this.#connectTimeoutMs,
      });
      this.#channels.set(address, channel);
    }
    return channel;
  }

  /**
   * Closes channels to addresses no longer in use and with nothing in flight.
   * An address leaves the endpoints while requests sent just before are still
   * running there (a scale-down drains them); closing its connection then
   * would fail them mid-request, although they run to completion on the sidecar.
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
