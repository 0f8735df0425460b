import { describe, expect, test } from 'vitest';
import { fromFunctionResult, toFunctionUrlEvent, type HttpRequestInfo } from './function-url.ts';
import {
  MalformedRequestError,
  decodeHttpRequest,
  encodeHttpRequest,
} from '../runtime-node/function-url-event.js';

const request = (overrides: Partial<HttpRequestInfo> = {}): HttpRequestInfo => ({
  method: 'POST',
  path: '/items/7',
  query: 'a=1&b=2&a=3',
  headers: {
    host: 'fn.example.com',
    'content-type': 'application/json',
    cookie: 'c1=v1; c2=v2',
    'user-agent': 'curl/8',
    'x-multi': ['one', 'two'] as unknown as string,
  },
  body: Buffer.from('{"x":1}'),
  sourceIp: '10.0.0.9',
  requestId: 'req-1',
  time: Date.UTC(2020, 2, 12, 19, 3, 58),
  apiId: 'default/hello',
  ...overrides,
});

describe('toFunctionUrlEvent', () => {
  test('builds the payload 2.0 event of a JSON request', () => {
    const event = toFunctionUrlEvent(request());
    expect(event).toMatchObject({
      version: '2.0',
      rawPath: '/items/7',
      rawQueryString: 'a=1&b=2&a=3',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,3', b: '2' },
      body: '{"x":1}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/items/7', sourceIp: '10.0.0.9', userAgent: 'curl/8' },
        requestId: 'req-1',
        time: '12/Mar/2020:19:03:58 +0000',
        domainName: 'fn.example.com',
        domainPrefix: 'fn',
      },
    });
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers.cookie).toBeUndefined();
  });

  test('a binary body travels base64', () => {
    const event = toFunctionUrlEvent(
      request({
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 255, 1]),
      }),
    );
    expect(event).toMatchObject({ isBase64Encoded: true, body: 'AP8B' });
  });

  // Found by `npm run test:fuzz`: decoded as UTF-8, the byte 0x80 reached the function as U+FFFD.
  test('a body labelled text that is not UTF-8 travels base64, byte for byte', () => {
    const event = toFunctionUrlEvent(request({ body: Buffer.from([0x7b, 0x80, 0x7d]) }));
    expect(event).toMatchObject({ isBase64Encoded: true, body: 'e4B9' });
  });

  test('an empty request has no body and no query parameters', () => {
    const event = toFunctionUrlEvent(request({ method: 'GET', query: '', body: Buffer.alloc(0) }));
    expect(event.body).toBeUndefined();
    expect(event.queryStringParameters).toBeUndefined();
  });
});

describe('fromFunctionResult', () => {
  const result = (value: unknown) => fromFunctionResult(Buffer.from(JSON.stringify(value)));

  test('a plain value becomes a 200 JSON response', () => {
    expect(result({ hello: 'world' })).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"hello":"world"}'),
    });
    expect(result('text').body.toString()).toBe('"text"');
  });

  test('a structured result sets status, headers, cookies and body', () => {
    const response = result({
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-A': 1 },
      cookies: ['a=1', 'b=2'],
      body: 'created',
    });
    expect(response).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'text/plain', 'x-a': '1', 'set-cookie': ['a=1', 'b=2'] },
      body: Buffer.from('created'),
    });
  });

  test('a base64 body is decoded', () => {
    expect(
      result({
        statusCode: 200,
        isBase64Encoded: true,
        body: 'AP8B',
        headers: { 'content-type': 'image/png' },
      }).body,
    ).toEqual(Buffer.from([0, 255, 1]));
  });

  test('no result is an empty 200', () => {
    expect(fromFunctionResult(Buffer.alloc(0))).toEqual({
      statusCode: 200,
      headers: {},
      body: Buffer.alloc(0),
    });
  });

  // Before `npm run test:fuzz` (which found the first at once), each of these threw a TypeError
  // or SyntaxError (a 500), or failed in res.writeHead; a function's process may send any bytes.
  test.each([
    ['bytes that are not JSON', Buffer.from([0x7b, 0xff]), 'the result is not JSON'],
    ['a 1xx status', { statusCode: 101 }, 'statusCode 101 is not a final HTTP status'],
    ['headers that are a list', { statusCode: 200, headers: ['a'] }, 'headers is not an object'],
    [
      'a multi-value header that is no list',
      { statusCode: 200, multiValueHeaders: { a: 'b' } },
      'multiValueHeaders.a is not a list',
    ],
    [
      'cookies that are no list',
      { statusCode: 200, cookies: { length: 2 } },
      'cookies is not a list',
    ],
    [
      'a header name with a space',
      { statusCode: 200, headers: { 'x y': '1' } },
      'header "x y" is not a valid HTTP header',
    ],
    [
      'a header value with a line break',
      { statusCode: 200, headers: { 'x-a': 'v\r\nx-b: smuggled' } },
      'header "x-a" is not a valid HTTP header',
    ],
  ])('%s is refused with a 502 that says why', (_, value, says) => {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
    expect(() => fromFunctionResult(bytes)).toThrow(
      expect.objectContaining({
        status: 502,
        code: 'ROOST_BAD_FUNCTION_RESPONSE',
        message: expect.stringContaining(says),
      }),
    );
  });

  test("a function's framing headers are dropped: the gateway frames its responses", () => {
    const response = result({
      statusCode: 200,
      headers: {
        'Content-Length': '1',
        'Transfer-Encoding': 'chunked',
        Connection: 'close',
        'x-kept': 'yes',
      },
      body: 'hello',
    });
    expect(response.headers).toEqual({ 'x-kept': 'yes', 'content-type': 'application/json' });
  });

  test('a statusCode that is not an HTTP status is refused with a 502', () => {
    expect(() => result({ statusCode: 'abc' })).toThrow(
      expect.objectContaining({ status: 502, code: 'ROOST_BAD_FUNCTION_RESPONSE' }),
    );
  });

  // A hostile function's JSON may define toString or valueOf: nothing it sends is converted blindly.
  test.each([
    [{ statusCode: { valueOf: 0 } }, 'statusCode {"valueOf":0} is not a final HTTP status'],
    [{ statusCode: 200, headers: { a: { toString: 0 } } }, 'headers.a is not a string'],
    [{ statusCode: 200, multiValueHeaders: { a: ['x', {}] } }, 'multiValueHeaders.a[1] is not'],
    [{ statusCode: 200, cookies: [{ toString: 0 }] }, 'cookies[0] is not a string'],
  ])('%j is refused with a 502 naming the field', (shape, message) => {
    expect(() => result(shape)).toThrow(
      expect.objectContaining({
        status: 502,
        code: 'ROOST_BAD_FUNCTION_RESPONSE',
        message: expect.stringContaining(message),
      }),
    );
  });

  test('numbers and booleans are header text, a list is one line each, a null header is left out', () => {
    const response = result({
      statusCode: 200,
      headers: { 'x-n': 3, 'x-b': true, 'x-gone': null, 'set-cookie': ['a=1', 'b=2'] },
    });
    expect(response.headers).toEqual({ 'x-n': '3', 'x-b': 'true', 'set-cookie': ['a=1', 'b=2'] });
  });
});

describe('the compact form of a request', () => {
  test('gives the same event as the request itself, body bytes and all', () => {
    for (const body of [Buffer.from('{"x":1}'), Buffer.from([0, 0xff, 0x80]), Buffer.alloc(0)]) {
      const original = request({ body, headers: { ...request().headers, 'x-ü': 'wörld' } });
      const payload = encodeHttpRequest(original);
      expect(toFunctionUrlEvent(decodeHttpRequest(payload))).toEqual(toFunctionUrlEvent(original));
    }
  });

  test('one that does not hold together is refused naming the field', () => {
    const payload = encodeHttpRequest(request());
    expect(() => decodeHttpRequest(payload.subarray(0, 3))).toThrow(MalformedRequestError);
    const count = payload.readUInt32LE(0);
    expect(count).toBe(6 + 2 * 5);
    expect(() => decodeHttpRequest(payload.subarray(0, 20))).toThrow(/cannot hold 16 strings/);
    const odd = Buffer.from(payload);
    odd.writeUInt32LE(7, 0);
    expect(() => decodeHttpRequest(odd)).toThrow(/cannot hold 7 strings/);
    const longText = Buffer.from(payload);
    longText.writeUInt32LE(1 << 30, 12 + 4 * count);
    expect(() => decodeHttpRequest(longText)).toThrow(/text of 1073741824 bytes runs past its end/);
    const longString = Buffer.from(payload);
    longString.writeUInt32LE(1 << 20, 12 + 4 * 3);
    expect(() => decodeHttpRequest(longString)).toThrow(/string 3 runs past its text/);
    const shortString = Buffer.from(payload);
    shortString.writeUInt32LE(0, 12);
    expect(() => decodeHttpRequest(shortString)).toThrow(/characters past its strings/);
  });
});
