import { describe, expect, test } from 'vitest';
import { makeInvoker, parseBatchItemFailures } from './invoker.ts';

describe('parseBatchItemFailures', () => {
  test.each([
    {
      what: 'a partial batch response',
      body: '{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"}]}',
      want: ['a', 'b'],
    },
    { what: 'an empty list: all succeeded', body: '{"batchItemFailures":[]}', want: [] },
    {
      what: 'numbers become strings (a NATS sequence)',
      body: '{"batchItemFailures":[{"itemIdentifier":42}]}',
      want: ['42'],
    },
    {
      what: 'an entry without an id names nothing that exists',
      body: '{"batchItemFailures":[{}]}',
      want: [''],
    },
    { what: 'any other result: all succeeded', body: '"ok"', want: undefined },
    { what: 'null', body: 'null', want: undefined },
    { what: 'not JSON', body: 'ok', want: undefined },
    { what: 'a list that is not a list', body: '{"batchItemFailures":"a"}', want: undefined },
  ])('$what', ({ body, want }) => {
    expect(parseBatchItemFailures(body)).toEqual(want);
  });
});

describe('makeInvoker', () => {
  test("a target's alias is the Invoke API's Qualifier; without one there is none", async () => {
    const { createServer } = await import('node:http');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const common = { gatewayUrl: `http://127.0.0.1:${port}`, token: 't', namespace: 'shop' };
      await makeInvoker({ ...common, name: 'orders', alias: 'stable', trigger: 'q' })({});
      await makeInvoker({ ...common, name: 'orders', trigger: 'q' })({});
      expect(seen).toEqual([
        '/2015-03-31/functions/shop%3Afunction%3Aorders/invocations?Qualifier=stable',
        '/2015-03-31/functions/shop%3Afunction%3Aorders/invocations',
      ]);
    } finally {
      server.close();
    }
  });
});
