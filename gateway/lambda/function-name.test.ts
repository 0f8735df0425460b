import { describe, expect, test } from 'vitest';
import { parseFunctionName } from './function-name.ts';

describe('parseFunctionName', () => {
  test.each([
    ['hello', undefined, { namespace: 'default', name: 'hello', qualifier: undefined }],
    ['hello:live', undefined, { namespace: 'default', name: 'hello', qualifier: 'live' }],
    [
      'team-a:function:hello',
      undefined,
      { namespace: 'team-a', name: 'hello', qualifier: undefined },
    ],
    [
      encodeURIComponent('arn:aws:lambda:eu-west-1:team-a:function:hello:3'),
      undefined,
      { namespace: 'team-a', name: 'hello', qualifier: '3' },
    ],
    ['hello', '$LATEST', { namespace: 'default', name: 'hello', qualifier: undefined }],
    ['hello', 'live', { namespace: 'default', name: 'hello', qualifier: 'live' }],
  ])('%s (Qualifier %s)', (segment, qualifier, expected) => {
    expect(parseFunctionName(segment, qualifier, 'default')).toEqual(expected);
  });

  test.each([
    ['Hello', 'the function name "Hello" is not a Kubernetes name'],
    ['Team:function:hello', 'the namespace "Team" is not a Kubernetes namespace name'],
    ['arn:aws:s3:::bucket:x:y', 'is none of NAME, NAMESPACE:function:NAME'],
    ['a:b:c:d:e', 'is none of NAME'],
    ['%E0%A4%A', 'not valid percent-encoding'],
  ])('%s is refused: %s', (segment, says) => {
    expect(() => parseFunctionName(segment, undefined, 'default')).toThrow(says);
  });

  test('a qualifier in the name and a different Qualifier= are refused', () => {
    expect(() => parseFunctionName('hello:a', 'b', 'default')).toThrow('differs from Qualifier=b');
  });
});
