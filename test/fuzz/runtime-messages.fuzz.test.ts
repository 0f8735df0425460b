// Fuzz: what a function's process sends the sidecar, on its control channel
// (structured clone) and as frame headers on its invocation socket (JSON).
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
