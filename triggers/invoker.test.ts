import { describe, expect, test } from 'vitest';
import { parseBatchItemFailures } from './invoker.ts';

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
