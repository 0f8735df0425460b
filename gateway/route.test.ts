import { describe, expect, test } from 'vitest';
import { parseRoute } from './route.ts';

describe('parseRoute', () => {
  test.each([
    ['/fn/default/hello', { namespace: 'default', name: 'hello', path: '/', query: '' }],
    ['/fn/default/hello/', { namespace: 'default', name: 'hello', path: '/', query: '' }],
    [
      '/fn/team-a/api/users/42?x=1&y=2',
      { namespace: 'team-a', name: 'api', path: '/users/42', query: 'x=1&y=2' },
    ],
    ['/fn/ns/my.fn?', { namespace: 'ns', name: 'my.fn', path: '/', query: '' }],
    [
      '/fn/ns/api@canary/users?x=1',
      { namespace: 'ns', name: 'api', qualifier: 'canary', path: '/users', query: 'x=1' },
    ],
    ['/fn/ns/api@7', { namespace: 'ns', name: 'api', qualifier: '7', path: '/', query: '' }],
  ])('%s', (url, route) => {
    expect(parseRoute(url)).toEqual(route);
  });

  test('a URL outside /fn/ is not a function route', () => {
    expect(parseRoute('/metrics')).toBeUndefined();
  });

  test.each([
    '/fn/',
    '/fn/default',
    '/fn/default/',
    '/fn/Default/hello',
    '/fn/ns/UPPER',
    '/fn/ns/a_b',
    '/fn/ns/api@',
    '/fn/ns/api@Beta',
    '/fn/ns/api@a@b',
  ])('%s is refused with a 400', (url) => {
    expect(() => parseRoute(url)).toThrow(
      expect.objectContaining({ status: 400, code: 'ROOST_BAD_REQUEST' }),
    );
  });
});
