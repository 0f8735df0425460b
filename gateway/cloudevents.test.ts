import { expect, test } from 'vitest';
import { toCloudEventJson } from './cloudevents.ts';
import { GatewayError } from './errors.ts';

const binary = (extra: Record<string, string | undefined>) =>
  Object.fromEntries(
    Object.entries({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-source': '/orders',
      'ce-type': 'order.created',
      ...extra,
    }).filter(([, v]) => v !== undefined),
  );
const structured = { 'content-type': 'application/cloudevents+json' };

function refusal(call: () => unknown): string {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    return (err as GatewayError).message;
  }
  throw new Error('expected a 400');
}

test.each([
  ['a missing id', binary({ 'ce-id': undefined }), 'id is missing (header ce-id)'],
  [
    'an unknown specversion',
    binary({ 'ce-specversion': '9.9' }),
    'specversion "9.9" is not supported (header ce-specversion); use 1.0 or 0.3',
  ],
  [
    'a time that is not RFC 3339',
    binary({ 'ce-time': 'yesterday' }),
    'time "yesterday" is not an RFC 3339 timestamp',
  ],
])('binary mode: %s is refused with 400 naming the attribute', (_name, headers, message) => {
  expect(refusal(() => toCloudEventJson(headers, Buffer.from('{}')))).toContain(message);
});

test('structured mode: every missing attribute is named at once', () => {
  const message = refusal(() => toCloudEventJson(structured, Buffer.from('{"id":"x"}')));
  expect(message).toBe(
    'Cannot read the CloudEvent: specversion is missing ("specversion"); source is missing ("source"); type is missing ("type")',
  );
});

test('JSON nested 5000 deep is refused with 400, in either mode, before anything walks it', () => {
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  const event = `{"specversion":"1.0","id":"1","source":"s","type":"t","data":${deep}}`;
  expect(refusal(() => toCloudEventJson(structured, Buffer.from(event)))).toContain(
    'nested deeper than 128 levels',
  );
  expect(refusal(() => toCloudEventJson(binary({}), Buffer.from(deep)))).toContain(
    'nested deeper than 128 levels',
  );
});

test('malformed JSON is a 400', () => {
  expect(refusal(() => toCloudEventJson(structured, Buffer.from('{"id":')))).toContain(
    'the body is not JSON',
  );
  expect(refusal(() => toCloudEventJson(binary({}), Buffer.from('{"a":')))).toContain(
    'Cannot read the CloudEvent',
  );
});

test('a valid 1.0 event keeps its id and time; 0.3 is read too', () => {
  const event = toCloudEventJson(
    binary({ 'ce-time': '2026-01-31T12:00:00.5+01:00' }),
    Buffer.from('{"n":1}'),
  );
  expect(event).toMatchObject({ id: 'evt-1', time: '2026-01-31T11:00:00.500Z', data: { n: 1 } });
  expect(toCloudEventJson(binary({ 'ce-specversion': '0.3' }), Buffer.from('{}'))).toMatchObject({
    specversion: '0.3',
  });
});

test('an attribute that is a JSON object is a 400, even one that defines toString (fuzz counterexample)', () => {
  const message = refusal(() =>
    toCloudEventJson(structured, Buffer.from('{"specversion":{"toString":0}}')),
  );
  expect(message).toContain('specversion {"toString":0} is not supported ("specversion")');
});
