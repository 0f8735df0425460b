// Fuzz: what a function's process sends the sidecar, on its control channel
// (structured clone) and as frames on its invocation socket (binary headers,
// or JSON, which the reader takes too).
// Anything is a well-formed message or frame, or a RuntimeProtocolError (and
// the process is killed: sidecar-hostile-function.test.ts); everything the
// runtime itself sends is read back unchanged.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  parseInvocationFrame,
  parseRuntimeMessage,
  RuntimeProtocolError,
} from '../../sidecar/node/runtime-messages.ts';
import type { FromRuntime, LogFrame, ReplyFrame } from '../../runtime-node/protocol.ts';
import { expectOwnError, fuzz } from './support/budget.ts';
import {
  FrameReader,
  FrameTooLargeError,
  MalformedFrameError,
  encodeFrame,
} from '../../runtime-node/frames.js';
import { LOG_HEADER, REPLY_HEADER } from '../../runtime-node/frame-headers.js';

const failure = {
  errorType: fc.string(),
  errorMessage: fc.string(),
  stackTrace: fc.array(fc.string(), { maxLength: 3 }),
};
const valid: fc.Arbitrary<FromRuntime> = fc.oneof(
  fc.constant({ type: 'booted' as const }),
  fc.record({
    type: fc.constant('specialized' as const),
    loadMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }),
  fc.record({ type: fc.constant('specialize-failed' as const), ...failure }),
  fc.record({ type: fc.constant('pong' as const), id: fc.nat() }),
) as fc.Arbitrary<FromRuntime>;

/** A valid message with one field replaced by anything. */
const tampered = fc
  .tuple(
    valid,
    fc.string({ maxLength: 12 }),
    fc.anything({
      withBigInt: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withDate: true,
      withNullPrototype: true,
    }),
  )
  .map(([message, key, value]) => {
    const keys = Object.keys(message);
    const target = key.length % 2 === 0 && keys.length > 0 ? keys[key.length % keys.length]! : key;
    return { ...message, [target]: value } as unknown;
  });

test('anything a function process sends is a well-formed message or a RuntimeProtocolError', async () => {
  await fuzz(
    'runtime messages: anything',
    fc.property(
      fc.oneof(
        fc.anything({
          withBigInt: true,
          withMap: true,
          withTypedArray: true,
          withNullPrototype: true,
        }),
        tampered,
      ),
      (raw) => {
        try {
          const message = parseRuntimeMessage(raw);
          expect(typeof message.type).toBe('string');
        } catch (err) {
          expectOwnError(err, { class: RuntimeProtocolError, codes: ['ROOST_RUNTIME_PROTOCOL'] });
          expect((err as Error).message.length).toBeLessThan(300);
        }
      },
    ),
    { share: 0.6 },
  );
});

test('every message the runtime sends is read back unchanged', async () => {
  await fuzz(
    'runtime messages: round trip',
    fc.property(valid, (message) => {
      expect(parseRuntimeMessage(structuredClone(message))).toEqual(message);
    }),
    { share: 0.4 },
  );
});

const validFrame: fc.Arbitrary<LogFrame | ReplyFrame> = fc.oneof(
  fc.record({
    type: fc.constant('log' as const),
    time: fc.nat(),
    level: fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
    requestId: fc.string(),
    message: fc.string(),
    stream: fc.constantFrom('stdout', 'stderr', 'console'),
  }),
  fc.record({
    id: fc.nat(),
    ok: fc.constant(true as const),
    hasResult: fc.boolean(),
    durationMs: fc.nat(),
  }),
  fc.record({ id: fc.nat(), ok: fc.constant(false as const), durationMs: fc.nat(), ...failure }),
) as fc.Arbitrary<LogFrame | ReplyFrame>;

test('any JSON a function writes as a frame header is a well-formed frame or a RuntimeProtocolError', async () => {
  await fuzz(
    'invocation frames: anything',
    fc.property(
      fc.oneof(
        fc.jsonValue(),
        fc
          .tuple(validFrame, fc.string({ maxLength: 12 }), fc.jsonValue())
          .map(([frame, key, value]) => ({ ...frame, [key]: value }) as unknown),
      ),
      (raw) => {
        try {
          parseInvocationFrame(JSON.parse(JSON.stringify(raw ?? null)));
        } catch (err) {
          expectOwnError(err, { class: RuntimeProtocolError, codes: ['ROOST_RUNTIME_PROTOCOL'] });
        }
      },
    ),
    { share: 0.3 },
  );
  await fuzz(
    'invocation frames: round trip',
    fc.property(validFrame, (frame) => {
      expect(parseInvocationFrame(JSON.parse(JSON.stringify(frame)))).toEqual(frame);
    }),
    { share: 0.2 },
  );
});

test('any bytes a function writes on its invocation socket are checked frames, or a frame error', async () => {
  const encoded = validFrame.map((frame) =>
    Buffer.concat(encodeFrame(frame, undefined, 'type' in frame ? LOG_HEADER : REPLY_HEADER)),
  );
  /** A valid binary frame with bytes of its header overwritten, cut short or grown (lengths fixed up). */
  const tampered = fc
    .tuple(
      encoded,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([frame, writes, cut, extra]) => {
      const header = Buffer.from(frame.subarray(8, 8 + frame.readUInt32BE(4)));
      for (const [at, byte] of writes) header[at % header.length] = byte;
      const changed = Buffer.concat([
        header.subarray(0, header.length - (cut % 3 === 0 ? cut % header.length : 0)),
        extra,
      ]);
      const out = Buffer.alloc(8 + changed.length);
      out.writeUInt32BE(4 + changed.length, 0);
      out.writeUInt32BE(changed.length, 4);
      changed.copy(out, 8);
      return out;
    });
  const read = (bytes: Uint8Array) => {
    const headers: unknown[] = [];
    new FrameReader({
      maxFrameBytes: 1 << 16,
      codecs: [REPLY_HEADER, LOG_HEADER],
      onFrame: (header) => headers.push(header),
    }).push(Buffer.from(bytes));
    return headers.map((header) => parseInvocationFrame(header));
  };
  await fuzz(
    'invocation frames: bytes',
    fc.property(fc.oneof(tampered, fc.uint8Array({ maxLength: 64 })), (bytes) => {
      try {
        read(bytes);
      } catch (err) {
        if (err instanceof RuntimeProtocolError || err instanceof FrameTooLargeError) return;
        expectOwnError(err, {
          class: MalformedFrameError,
          codes: ['ROOST_FRAME_MALFORMED'],
        });
      }
    }),
    { share: 0.3 },
  );
  await fuzz(
    'invocation frames: binary round trip',
    fc.property(validFrame, (frame) => {
      const bytes = encodeFrame(frame, undefined, 'type' in frame ? LOG_HEADER : REPLY_HEADER);
      expect(read(Buffer.concat(bytes))).toEqual([frame]);
    }),
    { share: 0.2 },
  );
});
