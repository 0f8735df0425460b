import { expect, test } from 'vitest';
import type { LogEntry } from '../proto/sandbox-host.ts';
import { formatLine, mergeByTime, parseSince } from './log-lines.ts';

const line = (timeMs: number, sandbox: string, message: string): LogEntry => ({
  namespace: 'default',
  deployment: 'hello',
  sandbox,
  timeMs,
  level: 'LOG_LEVEL_INFO',
  requestId: 'r1',
  message,
  stream: 'console',
});

test('lines of several sidecars merge into one time order, keeping each one order for equal times', () => {
  const a = [line(1, 'a', 'a1'), line(5, 'a', 'a5'), line(5, 'a', 'a5 again')];
  const b = [line(2, 'b', 'b2'), line(5, 'b', 'b5'), line(9, 'b', 'b9')];
  expect(mergeByTime([a, b]).map((l) => l.message)).toEqual([
    'a1',
    'b2',
    'a5',
    'a5 again',
    'b5',
    'b9',
  ]);
});

test('a line shows time, level, sandbox and request id before the message', () => {
  expect(formatLine(line(Date.parse('2025-01-31T12:00:00.123Z'), 'hello-x', 'hi'))).toBe(
    '2025-01-31T12:00:00.123Z INFO  hello-x r1 hi',
  );
});

test('--since takes a duration back from now or a time', () => {
  const now = Date.parse('2025-01-31T12:00:00Z');
  expect(parseSince('10m', now)).toBe(now - 600_000);
  expect(parseSince('2025-01-31T11:00:00Z', now)).toBe(now - 3_600_000);
  expect(() => parseSince('yesterday', now)).toThrow(/give a duration such as 10m/);
});
