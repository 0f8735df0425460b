/** A Buffer over the same memory as `bytes` (no copy); an empty one for none. */
export function bufferView(bytes: Uint8Array | undefined): Buffer {
  if (!bytes) return EMPTY;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

const EMPTY = Buffer.alloc(0);
