// @ts-check
// The frame both invocation hops speak (gateway to sidecar over TCP, sidecar
// to a function process over a socket pair): a small header and the body
// bytes as they are, so an event or a result is never re-encoded on the way.
//
//   u32 big-endian  length of what follows (header length + header + body)
//   u32 big-endian  header length
//   header          a UTF-8 JSON object, or a binary header (HeaderCodec)
//   body            raw bytes
//
// A JSON header starts with "{"; a binary one with its codec's tag, a byte
// below 0x20. JSON is for the rare frames (hello, refused, the JVM bridge's);
// the frames of every invocation have binary headers, because JSON was a
// measured part of each hop: parsing and printing the headers of one
// invocation's four frames cost about 5 µs of the path's CPU, a binary header
// a tenth of that (BENCHMARKS.md, bench:invoke).
//
// It lives here, in plain JavaScript, because the function process may read
// only runtime-node/ under Node's permission model; the sidecar and the
// gateway import the same file. The reader checks a frame's length before it
// buffers a byte of it, so a peer cannot make it hold more than the limit.

const PREFIX_BYTES = 8;
/** The first byte of a JSON header. */
const OPEN_BRACE = 0x7b;

/**
 * The largest frame either hop accepts unless told otherwise: a body as large
 * as the gRPC messages the invocation path carried before (64 MiB), and room
 * for its header.
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024 + 64 * 1024;
/** The scratch buffer binary headers are written into, and the most it keeps once grown. */
const SCRATCH_BYTES = 4096;
const MAX_KEPT_SCRATCH_BYTES = 64 * 1024;
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
 * A binary header: a tag byte naming its kind, then its fields in an order
 * its codec's write and read agree on, no names on the wire. A header reads
 * back as the same object its JSON would parse to, so whoever reads it checks
 * it as before. Each kind is written out field by field (HeaderWriter,
 * HeaderReader) rather than driven by a schema: a loop over field names was
 * measured no faster than JSON, because every access by a name held in a
 * variable missed V8's inline caches.
 * @template T
 */
export class HeaderCodec {
  /**
   * @param {number} tag 1 to 31, unique among the codecs a reader is given
   * @param {(header: T, writer: HeaderWriter) => void} write
   * @param {(reader: HeaderReader) => T} read
   */
  constructor(tag, write, read) {
    if (!(tag >= 1 && tag < 0x20)) throw new RangeError(`a header tag must be 1 to 31, not ${tag}`);
    this.tag = tag;
    this.write = write;
    this.read = read;
  }
}

/**
 * Writes a binary header's fields into a scratch buffer shared by every frame
 * of the process (frames are encoded one at a time), grown when a header
 * needs more; encodeFrame copies the bytes out. Numbers are little-endian
 * doubles, strings a u32 byte length and UTF-8.
 */
export class HeaderWriter {
  buffer = Buffer.allocUnsafe(SCRATCH_BYTES);
  offset = 0;

  /**
   * Starts a header of kind `tag`. A buffer grown for a large header (a long
   * error message) is let go first rather than held for the process's life.
   * @param {number} tag
   */
  start(tag) {
    if (this.buffer.length > MAX_KEPT_SCRATCH_BYTES)
      this.buffer = Buffer.allocUnsafe(SCRATCH_BYTES);
    this.buffer[0] = tag;
    this.offset = 1;
  }

  /** @param {number} value */
  f64(value) {
    this.#room(8);
    this.buffer.writeDoubleLE(value, this.offset);
    this.offset += 8;
  }

  /** @param {boolean} value */
  bool(value) {
    this.#room(1);
    this.buffer[this.offset++] = value ? 1 : 0;
  }

  /** @param {string} value */
  str(value) {
    // Three bytes of UTF-8 at most for each UTF-16 unit.
    this.#room(4 + value.length * 3);
    const written = value.length === 0 ? 0 : this.buffer.write(value, this.offset + 4, 'utf8');
    this.buffer.writeUInt32LE(written, this.offset);
    this.offset += 4 + written;
  }

  /** @param {string | undefined} value a presence byte, then the string */
  optionalStr(value) {
    this.bool(value !== undefined);
    if (value !== undefined) this.str(value);
  }

  /** @param {readonly string[]} values a u32 count, then each */
  strs(values) {
    this.#room(4);
    this.buffer.writeUInt32LE(values.length, this.offset);
    this.offset += 4;
    for (const value of values) this.str(value);
  }

  /** @param {number} bytes */
  #room(bytes) {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }
}

/**
 * Reads a binary header's fields; a field that runs past the header's end, a
 * boolean that is neither 0 nor 1, or a count its bytes cannot hold throws
 * MalformedFrameError naming the field.
 */
export class HeaderReader {
  /**
   * @param {Buffer} buffer
   * @param {number} offset the first field's
   * @param {number} end
   */
  constructor(buffer, offset, end) {
    this.buffer = buffer;
    this.offset = offset;
    this.end = end;
  }

  /** @param {string} field */
  f64(field) {
    this.#take(8, field);
    return this.buffer.readDoubleLE(this.offset - 8);
  }

  /** @param {string} field */
  bool(field) {
    this.#take(1, field);
    const byte = /** @type {number} */ (this.buffer[this.offset - 1]);
    if (byte > 1) throw new MalformedFrameError(`its header field ${field} is ${byte}, not 0 or 1`);
    return byte === 1;
  }

  /** @param {string} field */
  str(field) {
    this.#take(4, field);
    const bytes = this.buffer.readUInt32LE(this.offset - 4);
    const start = this.offset;
    this.#take(bytes, field);
    return bytes === 0 ? '' : this.buffer.toString('utf8', start, start + bytes);
  }

  /** @param {string} field */
  optionalStr(field) {
    return this.bool(field) ? this.str(field) : undefined;
  }

  /** @param {string} field */
  strs(field) {
    this.#take(4, field);
    const count = this.buffer.readUInt32LE(this.offset - 4);
    // Each item takes at least its length: a count the bytes cannot hold is refused before a list is made.
    if (count * 4 > this.end - this.offset)
      throw new MalformedFrameError(`its header field ${field} counts more items than it holds`);
    /** @type {string[]} */
    const values = [];
    for (let i = 0; i < count; i++) values.push(this.str(field));
    return values;
  }

  /** Throws unless every byte of the header was read. */
  done() {
    if (this.offset !== this.end)
      throw new MalformedFrameError(
        `its header has ${this.end - this.offset} bytes past its fields`,
      );
  }

  /**
   * @param {number} bytes
   * @param {string} field
   */
  #take(bytes, field) {
    if (this.end - this.offset < bytes)
      throw new MalformedFrameError(`its header ends inside field ${field}`);
    this.offset += bytes;
  }
}

const scratch = new HeaderWriter();

/**
 * A frame as buffers to write (one, or header and body for a large body).
 * The header is JSON unless a codec is given.
 * @param {object} header
 * @param {Uint8Array} [body]
 * @param {HeaderCodec<any>} [codec]
 * @returns {[Buffer] | [Buffer, Buffer]}
 */
export function encodeFrame(header, body, codec) {
  let json = '';
  if (codec) {
    scratch.start(codec.tag);
    codec.write(header, scratch);
  } else json = JSON.stringify(header);
  const headerBytes = codec ? scratch.offset : Buffer.byteLength(json);
  const bodyBytes = body ? body.length : 0;
  const coalesce = bodyBytes < COALESCE_BYTES;
  const first = Buffer.allocUnsafe(PREFIX_BYTES + headerBytes + (coalesce ? bodyBytes : 0));
  first.writeUInt32BE(4 + headerBytes + bodyBytes, 0);
  first.writeUInt32BE(headerBytes, 4);
  if (codec) scratch.buffer.copy(first, PREFIX_BYTES, 0, headerBytes);
  else first.write(json, PREFIX_BYTES, 'utf8');
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
   * @param {HeaderCodec<any>} [codec] the header's binary layout; JSON without one
   * @returns {boolean} false once the socket's buffer is over its high-water mark
   */
  write(header, body, codec) {
    const socket = this.#socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(this.#flush);
    }
    const [first, second] = encodeFrame(header, body, codec);
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
 * it may be kept). A header is read as JSON, or by the codec its tag names
 * among `codecs`. push() throws FrameTooLargeError or MalformedFrameError,
 * after which the stream is out of step and must be closed.
 */
export class FrameReader {
  /** @type {Buffer[]} */
  #chunks = [];
  #buffered = 0;
  #onFrame;
  /** @type {(HeaderCodec<any> | undefined)[]} by tag */
  #codecs = [];
  /** The largest frame accepted; may be raised once a peer has said who it is. */
  maxFrameBytes;

  /**
   * @param {{ maxFrameBytes: number, onFrame: (header: any, body: Buffer) => void, codecs?: readonly HeaderCodec<any>[] }} options
   */
  constructor(options) {
    this.maxFrameBytes = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
    for (const codec of options.codecs ?? []) this.#codecs[codec.tag] = codec;
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
      const headerStart = offset + PREFIX_BYTES;
      const headerEnd = headerStart + headerBytes;
      const header = this.#header(data, headerStart, headerEnd);
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

  /**
   * @param {Buffer} data
   * @param {number} start
   * @param {number} end
   */
  #header(data, start, end) {
    const first = start < end ? /** @type {number} */ (data[start]) : OPEN_BRACE;
    if (first !== OPEN_BRACE) {
      const codec = this.#codecs[first];
      if (!codec)
        throw new MalformedFrameError(`its header is neither JSON nor a known kind (${first})`);
      const reader = new HeaderReader(data, start + 1, end);
      const header = codec.read(reader);
      reader.done();
      return header;
    }
    let header;
    try {
      header = JSON.parse(data.toString('utf8', start, end));
    } catch (err) {
      throw new MalformedFrameError(
        `its header is not JSON (${/** @type {Error} */ (err).message})`,
      );
    }
    if (typeof header !== 'object' || header === null)
      throw new MalformedFrameError('its header is not an object');
    return header;
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
