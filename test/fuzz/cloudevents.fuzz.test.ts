// Fuzz: CloudEvents a client sends over HTTP, binary mode (ce-* headers) and
// structured mode (application/cloudevents+json). Whatever arrives, the
// gateway hands the function an event or refuses 400 ROOST_BAD_REQUEST; a
// valid event reaches the function with its attributes and data unchanged.
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { expect, test } from 'vitest';
import { toCloudEventJson } from '../../gateway/cloudevents.ts';
import { GatewayError } from '../../gateway/errors.ts';
import { hostileJson, nastyText } from './support/arbitraries.ts';
import { expectOwnError, fuzz } from './support/budget.ts';

const refusedCleanly = (err: unknown) =>
  expectOwnError(err, { class: GatewayError, codes: ['ROOST_BAD_REQUEST'], maxStatus: 499 });

const attributeValue = fc.oneof(
  nastyText,
  fc.constantFrom('1.0', '0.3', '9.9', '2026-01-31T12:00:00Z', '2026-13-45T99:99:99Z', 'x'),
);
const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'text/plain',
  'application/octet-stream',
  'application/cloudevents+json',
  'application/cloudevents-batch+json',
  'application/xml',
  'application/json; charset=utf-8',
);
const anyBody = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  hostileJson(4).map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .string({ unit: fc.constantFrom('[', '{', ']', '}', '"', '1'), maxLength: 400 })
    .map((s) => Buffer.from(s)),
);

test('binary-mode CloudEvents: any ce-* headers and body give an event or a 400', async () => {
  await fuzz(
    'CloudEvents binary: anything',
    fc.property(
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('specversion', 'id', 'source', 'type', 'time', 'subject', 'dataschema'),
          fc.stringMatching(/^[a-z0-9-]{1,24}$/),
        ),
        attributeValue,
        { maxKeys: 8 },
      ),
      contentType,
      anyBody,
      (attributes, type, body) => {
        const headers: IncomingHttpHeaders = { 'ce-specversion': '1.0' };
        for (const [name, value] of Object.entries(attributes)) headers[`ce-${name}`] = value;
        if (type) headers['content-type'] = type;
        try {
          const event = toCloudEventJson(headers, body);
          expect(typeof event.id).toBe('string');
        } catch (err) {
          refusedCleanly(err);
        }
      },
    ),
    { share: 0.34 },
  );
});

test('structured-mode CloudEvents: any JSON (or not JSON) body gives an event or a 400', async () => {
  const attributes = fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        'specversion',
        'id',
        'source',
        'type',
        'time',
        'data',
        'data_base64',
        'datacontenttype',
      ),
      fc.string({ maxLength: 10 }),
    ),
    fc.oneof(attributeValue, hostileJson(3)),
    { maxKeys: 8 },
  );
  await fuzz(
    'CloudEvents structured: anything',
    fc.property(
      fc.oneof(
        attributes.map((a) => Buffer.from(JSON.stringify(a))),
        anyBody,
      ),
      (body) => {
        try {
          toCloudEventJson({ 'content-type': 'application/cloudevents+json' }, body);
        } catch (err) {
          refusedCleanly(err);
        }
      },
    ),
    { share: 0.33 },
  );
});

test('a valid CloudEvent reaches the function with its attributes and data unchanged, in either mode', async () => {
  const token = fc.stringMatching(/^[A-Za-z0-9._:/-]{1,30}$/);
  await fuzz(
    'CloudEvents: round trip',
    fc.property(
      token,
      token,
      token,
      fc.option(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        { nil: undefined },
      ),
      fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.jsonValue({ maxDepth: 3 }), {
        maxKeys: 5,
      }),
      fc.boolean(),
      (id, source, type, time, data, structured) => {
        const attributes = {
          specversion: '1.0',
          id,
          source,
          type,
          ...(time ? { time: time.toISOString() } : {}),
        };
        const event = structured
          ? toCloudEventJson(
              { 'content-type': 'application/cloudevents+json' },
              Buffer.from(
                JSON.stringify({ ...attributes, datacontenttype: 'application/json', data }),
              ),
            )
          : toCloudEventJson(
              {
                'content-type': 'application/json',
                ...Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce-${k}`, v])),
              },
              Buffer.from(JSON.stringify(data)),
            );
        // As JSON carries it (-0 arrives as 0).
        expect(event).toMatchObject({ ...attributes, data: JSON.parse(JSON.stringify(data)) });
      },
    ),
    { share: 0.33 },
  );
});
