// Fuzz: what a function's process sends the sidecar. Anything structured
// clone can carry is a well-formed FromRuntime or RuntimeProtocolError (and
// the process is killed: sidecar-hostile-function.test.ts); every message the
// runtime itself sends is read back unchanged.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { parseRuntimeMessage, RuntimeProtocolError } from '../../sidecar/node/runtime-messages.ts';
import type { FromRuntime } from '../../runtime-node/protocol.ts';
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
  fc.record(
    {
      type: fc.constant('result' as const),
      id: fc.nat(),
      result: fc.uint8Array({ maxLength: 16 }),
      durationMs: fc.nat(),
    },
    { requiredKeys: ['type', 'id', 'durationMs'] },
  ),
  fc.record({
    type: fc.constant('error' as const),
    id: fc.nat(),
    durationMs: fc.nat(),
    ...failure,
  }),
  fc.record({
    type: fc.constant('log' as const),
    time: fc.nat(),
    level: fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
    requestId: fc.string(),
    message: fc.string(),
    stream: fc.constantFrom('stdout', 'stderr', 'console'),
  }),
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
