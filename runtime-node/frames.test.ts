import { describe, expect, test } from 'vitest';
import {
  FrameReader,
  FrameTooLargeError,
  HeaderCodec,
  MalformedFrameError,
  encodeFrame,
} from './frames.js';
import { INVOKE_HEADER, LOG_HEADER, REPLY_HEADER } from './frame-headers.js';
import { RESULT_HEADER } from '../proto/invoke-frames.ts';

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

describe('binary headers', () => {
  const codecs = [INVOKE_HEADER, REPLY_HEADER, LOG_HEADER, RESULT_HEADER];
  const read = (frame: Buffer) => {
    const frames: unknown[] = [];
    new FrameReader({ maxFrameBytes: 1 << 20, codecs, onFrame: (h) => frames.push(h) }).push(frame);
    return frames;
  };
  /** A frame whose header is `header` as given, bytes and all. */
  const raw = (header: Buffer) => {
    const frame = Buffer.alloc(8 + header.length);
    frame.writeUInt32BE(4 + header.length, 0);
    frame.writeUInt32BE(header.length, 4);
    header.copy(frame, 8);
    return frame;
  };

  test('every kind reads back as the object written, JSON frames beside them', () => {
    const headers = [
      [INVOKE_HEADER, { id: 1, requestId: 'r-1', deadline: 1795000000123, httpRequest: true }],
      [REPLY_HEADER, { id: 2, ok: true, durationMs: 0.125, hasResult: false }],
      [
        REPLY_HEADER,
        {
          id: 3,
          ok: false,
          durationMs: 7,
          errorType: 'TypeError',
          errorMessage: 'x is not a function: “ü” 🦜',
          stackTrace: ['at handler (/var/task/index.mjs:1:1)', ''],
        },
      ],
      [
        LOG_HEADER,
        { type: 'log', time: 1, level: 'warn', requestId: '', message: 'a\nb', stream: 'console' },
      ],
      [
        RESULT_HEADER,
        {
          id: Number.MAX_SAFE_INTEGER,
          error: 'FUNCTION_ERROR_NONE',
          errorType: '',
          errorMessage: '',
          stackTrace: [],
          durationMs: 1.5,
          memoryBytes: 123456789,
          coldStart: true,
          cpuMicros: 0,
          logTail: 'x'.repeat(5000),
          rejection: null,
        },
      ],
      [
        RESULT_HEADER,
        {
          id: 4,
          error: 'FUNCTION_ERROR_NONE',
          errorType: '',
          errorMessage: '',
          stackTrace: [],
          durationMs: 0,
          memoryBytes: 0,
          coldStart: false,
          cpuMicros: 0,
          logTail: '',
          rejection: { code: 8, message: 'overloaded', notInvoked: true, errorCode: undefined },
        },
      ],
    ] as const;
    const bytes = Buffer.concat([
      ...headers.flatMap(([codec, header]) => encodeFrame(header, Buffer.from('body'), codec)),
      ...encodeFrame({ type: 'hello' }),
    ]);
    expect(read(bytes)).toEqual([...headers.map(([, header]) => header), { type: 'hello' }]);
  });

  test('a header cut short, with bytes left over, with a bad boolean or an impossible count is malformed and names the field', () => {
    const [invoke] = encodeFrame(
      { id: 1, requestId: 'request', deadline: 2, httpRequest: false },
      undefined,
      INVOKE_HEADER,
    );
    const header = invoke.subarray(8);
    expect(() => read(raw(header.subarray(0, 12)))).toThrow(/ends inside field requestId/);
    expect(() => read(raw(Buffer.concat([header, Buffer.from([0])])))).toThrow(
      /1 bytes past its fields/,
    );
    const [reply] = encodeFrame(
      { id: 1, ok: true, durationMs: 0, hasResult: true },
      undefined,
      REPLY_HEADER,
    );
    const badBool = Buffer.from(reply.subarray(8));
    badBool[1 + 8] = 7;
    expect(() => read(raw(badBool))).toThrow(/field ok is 7, not 0 or 1/);
    const [failed] = encodeFrame(
      { id: 1, ok: false, durationMs: 0, errorType: '', errorMessage: '', stackTrace: [] },
      undefined,
      REPLY_HEADER,
    );
    const countless = Buffer.from(failed.subarray(8));
    countless.writeUInt32LE(0xffffffff, countless.length - 4);
    expect(() => read(raw(countless))).toThrow(/stackTrace counts more items than it holds/);
    expect(() => read(raw(Buffer.from([9, 0, 0])))).toThrow(MalformedFrameError);
    expect(() => read(raw(Buffer.from([9, 0, 0])))).toThrow(/neither JSON nor a known kind \(9\)/);
  });

  test('a header larger than the scratch buffer is written whole, and the next one after it too', () => {
    const long = 'é'.repeat(100_000);
    const failed = {
      id: 1,
      ok: false,
      durationMs: 1,
      errorType: 'Error',
      errorMessage: long,
      stackTrace: [long.slice(0, 10)],
    };
    const small = { id: 2, ok: true, durationMs: 0, hasResult: false };
    const bytes = Buffer.concat([
      ...encodeFrame(failed, undefined, REPLY_HEADER),
      ...encodeFrame(small, undefined, REPLY_HEADER),
    ]);
    expect(read(bytes)).toEqual([failed, small]);
  });

  test('a codec needs a tag below the first byte of JSON', () => {
    expect(
      () =>
        new HeaderCodec(
          0x7b,
          () => undefined,
          () => ({}),
        ),
    ).toThrow(RangeError);
    expect(
      () =>
        new HeaderCodec(
          0,
          () => undefined,
          () => ({}),
        ),
    ).toThrow(RangeError);
  });
});
