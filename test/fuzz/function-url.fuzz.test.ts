// Fuzz: the function URL shapes. A client's request becomes the event a
// handler receives (any headers, path, query and body: never a throw, and the
// body arrives byte for byte, whether as JSON or through the compact form); a function's result becomes the HTTP response
// (anything a function returns, even bytes that are not JSON: a response
// Node can send without smuggling room, or 502 ROOST_BAD_FUNCTION_RESPONSE).
import fc from 'fast-check';
import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders } from 'node:http';
import { expect, test } from 'vitest';
import { GatewayError } from '../../gateway/errors.ts';
import {
  fromFunctionResult,
  HOP_BY_HOP_HEADERS,
  toFunctionUrlEvent,
} from '../../gateway/function-url.ts';
import { hostileJson, hostileObject } from './support/arbitraries.ts';
import {
  MalformedRequestError,
  decodeHttpRequest,
  encodeHttpRequest,
} from '../../runtime-node/function-url-event.js';
import { expectOwnError, fuzz } from './support/budget.ts';

/** What Node's HTTP parser lets through as a header value: visible latin1 and tabs, no CR/LF. */
const headerValue = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
const headerName = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/);

test("a client's request becomes an event without a throw, its body byte for byte", async () => {
  await fuzz(
    'function URL: request to event',
    fc.property(
      fc.dictionary(headerName, fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), {
        maxKeys: 10,
      }),
      fc.option(
        fc.constantFrom('application/json', 'text/plain', 'image/png', 'application/x+json', ''),
        { nil: undefined },
      ),
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
      ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      (headers, contentType, bytes, path, query) => {
        const all: IncomingHttpHeaders = { ...headers };
        if (contentType !== undefined) all['content-type'] = contentType;
        const body = Buffer.from(bytes);
        const request = {
          method: 'POST',
          path: `/${path}`,
          query,
          headers: all,
          body,
          sourceIp: '127.0.0.1',
          requestId: 'r',
          time: Date.now(),
          apiId: 'ns/fn',
        };
        const event = toFunctionUrlEvent(request);
        // The compact form a Node.js function process builds the event from gives the same event.
        expect(toFunctionUrlEvent(decodeHttpRequest(encodeHttpRequest(request)))).toEqual(event);
        const received = JSON.parse(JSON.stringify(event)) as typeof event;
        const decoded =
          received.body === undefined
            ? Buffer.alloc(0)
            : Buffer.from(received.body, received.isBase64Encoded ? 'base64' : 'utf8');
        expect(decoded.equals(body)).toBe(true);
        expect(received.rawQueryString).toBe(query);
        expect(received.rawPath).toBe(`/${path}`);
      },
    ),
    { share: 0.4 },
  );
});

test('any bytes given as a compact request decode to a request or a MalformedRequestError', async () => {
  const valid = encodeHttpRequest({
    method: 'GET',
    path: '/p',
    query: 'a=1',
    headers: { host: 'h', cookie: 'a=b', 'x-ü': 'wörld' },
    body: Buffer.from('body'),
    sourceIp: '127.0.0.1',
    requestId: 'r',
    time: 1,
    apiId: 'ns/fn',
  });
  const tampered = fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
    .map((writes) => {
      const bytes = Buffer.from(valid);
      for (const [at, byte] of writes) bytes[at % bytes.length] = byte;
      return bytes;
    });
  await fuzz(
    'function URL: compact request bytes',
    fc.property(fc.oneof(tampered, fc.uint8Array({ maxLength: 80 })), (bytes) => {
      try {
        const request = decodeHttpRequest(Buffer.from(bytes));
        JSON.stringify(toFunctionUrlEvent(request));
      } catch (err) {
        expectOwnError(err, { class: MalformedRequestError, codes: ['ROOST_REQUEST_MALFORMED'] });
      }
    }),
    { share: 0.2 },
  );
});

const structured = fc.record(
  {
    statusCode: fc.oneof(
      fc.integer({ min: -10, max: 1000 }),
      fc.constantFrom('200', 'abc', null, 99.5, 204),
      hostileObject,
    ),
    headers: fc.oneof(
      fc.dictionary(
        fc.oneof(headerName, fc.string({ unit: 'binary', maxLength: 10 })),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.integer(), hostileJson(1)),
      ),
      fc.constantFrom(null, 5, 'x', []),
    ),
    multiValueHeaders: fc.oneof(
      fc.dictionary(
        headerName,
        fc.oneof(
          fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), hostileObject), {
            maxLength: 3,
          }),
          fc.string(),
          fc.integer(),
          fc.constant(null),
        ),
      ),
      fc.constantFrom(null, 7, 'y'),
    ),
    cookies: fc.oneof(
      fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), hostileObject), {
        maxLength: 3,
      }),
      fc.constantFrom(null, 'a=1', 3, { length: 2 }),
    ),
    body: fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.jsonValue({ maxDepth: 2 })),
    isBase64Encoded: fc.oneof(fc.boolean(), fc.constantFrom('yes', 1, null)),
  },
  { requiredKeys: ['statusCode'] },
);

test("a function's result becomes a response Node can send, or a 502 that says why", async () => {
  await fuzz(
    'function URL: result to response',
    fc.property(
      fc.oneof(
        structured.map((r) => Buffer.from(JSON.stringify(r))),
        hostileJson(3).map((v) => Buffer.from(JSON.stringify(v))),
        fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
      ),
      (bytes) => {
        let response;
        try {
          response = fromFunctionResult(bytes);
        } catch (err) {
          expectOwnError(err, { class: GatewayError, codes: ['ROOST_BAD_FUNCTION_RESPONSE'] });
          return;
        }
        expect(response.statusCode).toBeGreaterThanOrEqual(200);
        expect(response.statusCode).toBeLessThanOrEqual(599);
        for (const [name, value] of Object.entries(response.headers)) {
          validateHeaderName(name);
          for (const v of [value].flat()) validateHeaderValue(name, v);
          expect(HOP_BY_HOP_HEADERS.has(name)).toBe(false);
        }
        expect(Buffer.isBuffer(response.body)).toBe(true);
      },
    ),
    { share: 0.6 },
  );
});
