// Node's IPC channel deserializes what a child writes inside the channel's own
// read callback: bytes that do not deserialize throw there, outside any
// handler of ours, and an uncaught exception would end the sidecar and every
// Sandbox on it. A function can write such bytes: the channel's descriptor
// (fd 3) is open in its process and Node's permission model does not cover
// file descriptors. So the read callback is wrapped: a child whose bytes do
// not parse is reported, and the caller kills it; the function fails alone.
//
// The callback is Node's (the channel handle's `onread`, reached through the
// ChildProcess's kChannelHandle symbol): not public API, so its absence is an
// error at once rather than a sidecar left unguarded after a Node upgrade
// (sidecar-hostile-function.test.ts proves the guard holds).
import type { ChildProcess } from 'node:child_process';
import { RoostError } from '../../lib/errors.ts';
import { RuntimeProtocolError } from './runtime-messages.ts';

type ReadCallback = (this: unknown, ...args: unknown[]) => unknown;

export class ChannelGuardError extends RoostError {
  constructor() {
    super(
      'ROOST_CHANNEL_UNGUARDED',
      "Cannot guard a function process's IPC channel: this Node.js version keeps its read callback elsewhere",
    );
  }
}

/** Calls onGarbage (once) instead of throwing when the child writes bytes that do not parse. */
export function guardChannel(
  child: ChildProcess,
  onGarbage: (err: RuntimeProtocolError) => void,
): void {
  const symbol = Object.getOwnPropertySymbols(child).find(
    (s) => s.description === 'kChannelHandle',
  );
  const handle = symbol
    ? (child as unknown as Record<symbol, { onread?: ReadCallback }>)[symbol]
    : undefined;
  const read = handle?.onread;
  if (!handle || typeof read !== 'function') throw new ChannelGuardError();
  let broken = false;
  handle.onread = function (this: unknown, ...args: unknown[]) {
    if (broken) return undefined;
    try {
      return read.apply(this, args);
    } catch (err) {
      broken = true;
      onGarbage(
        new RuntimeProtocolError(
          `it wrote bytes that are not a message (${(err as Error).message})`,
        ),
      );
      return undefined;
    }
  };
}
