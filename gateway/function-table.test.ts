import { describe, expect, test } from 'vitest';
import { sendableHeaders } from './function-table.ts';

describe('sendableHeaders', () => {
  test('keeps headers Node can send and leaves out the rest, so a fallback never turns into a 500', () => {
    expect(
      sendableHeaders({
        'Content-Type': 'text/plain',
        'x-served-by': 'fallback',
        'x bad name': 'v',
        'x-split': 'a\r\nset-cookie: stolen=1',
        'Content-Length': '3',
        'transfer-encoding': 'chunked',
        Connection: 'close',
      }),
    ).toEqual({ 'Content-Type': 'text/plain', 'x-served-by': 'fallback' });
  });
});
