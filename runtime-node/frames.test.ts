import { describe, expect, test } from 'vitest';
import { FrameReader, FrameTooLargeError, MalformedFrameError, encodeFrame } from './frames.js';

function collect(maxFrameBytes = 1024) {
  const frames: { header: unknown; body: string }[] = [];
  const reader = new FrameReader({
    maxFrameBytes,
    onFrame: (header, body) => frames.push({ header, body: body.toString() }),
  });
  return { frames, reader };
}

const bytes = (header: object, body?: string) =>
  Buffer.concat(encodeFrame(header, body === undefined ? undefined : Buffer.from(body)));

describe('FrameReader', () => {
  test('reads frames whole, several in one chunk, and one cut at every byte', () => {
    const { frames, reader } = collect();
    const two = Buffer.concat([bytes({ id: 1 }, 'first'), bytes({ id: 2 })]);
    reader.push(two);
    const cut = bytes({ id: 3, requestId: 'r' }, '{"hello":"wörld"}');
    for (let i = 0; i < cut.length; i++) reader.push(cut.subarray(i, i + 1));
    expect(frames).toEqual([
      { header: { id: 1 }, body: 'first' },
      { header: { id: 2 }, body: '' },
      { header: { id: 3, requestId: 'r' }, body: '{"hello":"wörld"}' },
    ]);
    expect(reader.buffered).toBe(0);
  });

  test('a large body leaves as a second buffer and arrives intact', () => {
    const body = 'x'.repeat(100_000);
    const parts = encodeFrame({ id: 7 }, Buffer.from(body));
    expect(parts).toHaveLength(2);
    const { frames, reader } = collect(200_000);
    reader.push(Buffer.concat(parts));
    expect(frames[0]).toEqual({ header: { id: 7 }, body });
  });

  test('a frame over the limit is refused from its length alone, before its body is held', () => {
    const { frames, reader } = collect(1024);
    const big = bytes({ id: 1 }, 'y'.repeat(5000));
    expect(() => reader.push(big.subarray(0, 8))).toThrow(FrameTooLargeError);
    expect(frames).toEqual([]);
    expect(reader.buffered).toBe(0);
  });

  test('a header that is not JSON, or longer than its frame, is malformed', () => {
    const garbage = Buffer.alloc(12);
    garbage.writeUInt32BE(8, 0);
    garbage.writeUInt32BE(4, 4);
    garbage.write('nope', 8);
    expect(() => collect().reader.push(garbage)).toThrow(MalformedFrameError);
    const liar = Buffer.alloc(12);
    liar.writeUInt32BE(8, 0);
    liar.writeUInt32BE(100, 4);
    expect(() => collect().reader.push(liar)).toThrow(/header is longer/);
    const tiny = Buffer.alloc(8);
    tiny.writeUInt32BE(1, 0);
    expect(() => collect().reader.push(tiny)).toThrow(/too short/);
  });
});
