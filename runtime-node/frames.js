// @ts-check
// The frame both invocation hops speak (gateway to sidecar over TCP, sidecar
// to a function process over a socket pair): a small JSON header and the body
// bytes as they are, so an event or a result is never re-encoded on the way.
//
//   u32 big-endian  length of what follows (header length + header + body)
//   u32 big-endian  header length
//   header          UTF-8 JSON object
//   body            raw bytes
//
// It lives here, in plain JavaScript, because the function process may read
// only runtime-node/ under Node's permission model; the sidecar and the
// gateway import the same file. The reader checks a frame's length before it
// buffers a byte of it, so a peer cannot make it hold more than the limit.

const PREFIX_BYTES = 8;

/**
 * The largest frame either hop accepts unless told otherwise: a body as large
 * as the gRPC messages the invocation path carried before (64 MiB), and room
 * for its header.
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024 + 64 * 1024;
/** Bodies smaller than this are copied into the header's buffer: one write instead of two. */
const COALESCE_BYTES = 16 * 1024;

export class FrameTooLargeError extends Error {
  /**
   * @param {number} length
   * @param {number} limit
   */
  constructor(length, limit) {
    super(`Cannot accept a frame of ${length} bytes: the limit is ${limit} bytes`);
    this.code = 'ROOST_FRAME_TOO_LARGE';
  }
}

export class MalformedFrameError extends Error {
  /** @param {string} why */
  constructor(why) {
    super(`Cannot read a frame: ${why}`);
    this.code = 'ROOST_FRAME_MALFORMED';
  }
}

/**
 * A frame as buffers to write (one, or header and body for a large body).
 * @param {object} header
 * @param {Uint8Array} [body]
 * @returns {[Buffer] | [Buffer, Buffer]}
 */
export function encodeFrame(header, body) {
  const json = JSON.stringify(header);
  const headerBytes = Buffer.byteLength(json);
  const bodyBytes = body ? body.length : 0;
  const coalesce = bodyBytes < COALESCE_BYTES;
  const first = Buffer.allocUnsafe(PREFIX_BYTES + headerBytes + (coalesce ? bodyBytes : 0));
  first.writeUInt32BE(4 + headerBytes + bodyBytes, 0);
  first.writeUInt32BE(headerBytes, 4);
  first.write(json, PREFIX_BYTES, 'utf8');
  if (!body || bodyBytes === 0) return [first];
  if (coalesce) {
    first.set(body, PREFIX_BYTES + headerBytes);
    return [first];
  }
  return [first, Buffer.from(body.buffer, body.byteOffset, body.length)];
}

/**
 * Writes frames to one socket, holding them until the end of the event
 * loop's turn: every frame written in one turn leaves in one writev. Under
 * load that is one system call, and one wake-up of the peer, for many
 * invocations instead of one each; measured, the write and the wake-up it
 * causes were the largest single cost of a hop (BENCHMARKS.md, bench:invoke).
 * Alone, a frame waits only for the rest of the current turn.
 */
export class FrameWriter {
  /** @type {import('node:net').Socket} */
  #socket;
  #corked = false;

  /** @param {import('node:net').Socket} socket */
  constructor(socket) {
    this.#socket = socket;
  }

  /**
   * @param {object} header
   * @param {Uint8Array} [body]
   * @returns {boolean} false once the socket's buffer is over its high-water mark
   */
  write(header, body) {
    const socket = this.#socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(this.#flush);
    }
    const [first, second] = encodeFrame(header, body);
    const ok = socket.write(first);
    return second ? socket.write(second) : ok;
  }

  #flush = () => {
    this.#corked = false;
    this.#socket.uncork();
  };
}

/**
 * Cuts a byte stream into frames. push() every chunk read; onFrame gets each
 * header and its body, a view into the chunk read (chunks are not reused, so
 * it may be kept). push() throws FrameTooLargeError or MalformedFrameError,
 * after which the stream is out of step and must be closed.
 */
export class FrameReader {
  /** @type {Buffer[]} */
  #chunks = [];
  #buffered = 0;
  #onFrame;
  /** The largest frame accepted; may be raised once a peer has said who it is. */
  maxFrameBytes;

  /**
   * @param {{ maxFrameBytes: number, onFrame: (header: any, body: Buffer) => void }} options
   */
  constructor(options) {
    this.maxFrameBytes = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
  }

  /** Bytes held for a frame not yet complete. */
  get buffered() {
    return this.#buffered;
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    let data = chunk;
    if (this.#buffered > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered < PREFIX_BYTES) return;
      const length = this.#peekLength();
      if (this.#buffered < 4 + length) return;
      data = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
    }
    let offset = 0;
    while (data.length - offset >= PREFIX_BYTES) {
      const length = data.readUInt32BE(offset);
      this.#check(length);
      const end = offset + 4 + length;
      if (end > data.length) break;
      const headerBytes = data.readUInt32BE(offset + 4);
      if (headerBytes > length - 4) throw new MalformedFrameError('its header is longer than it');
      const headerEnd = offset + PREFIX_BYTES + headerBytes;
      let header;
      try {
        header = JSON.parse(data.toString('utf8', offset + PREFIX_BYTES, headerEnd));
      } catch (err) {
        throw new MalformedFrameError(
          `its header is not JSON (${/** @type {Error} */ (err).message})`,
        );
      }
      if (typeof header !== 'object' || header === null)
        throw new MalformedFrameError('its header is not an object');
      offset = end;
      this.#onFrame(header, data.subarray(headerEnd, end));
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      if (rest.length >= 4) this.#check(rest.readUInt32BE(0));
      this.#chunks = [rest];
      this.#buffered = rest.length;
    }
  }

  #peekLength() {
    const first = /** @type {Buffer} */ (this.#chunks[0]);
    const head = first.length >= 4 ? first : Buffer.concat(this.#chunks);
    const length = head.readUInt32BE(0);
    this.#check(length);
    return length;
  }

  /** @param {number} length */
  #check(length) {
    if (length < 4) throw new MalformedFrameError(`a length of ${length} bytes is too short`);
    if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
  }
}
