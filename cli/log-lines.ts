// The pure parts of `roost logs`: reading --since and --level, merging the
// lines of several sidecars into one time order, and printing a line.
import type { LogEntry, LogLevel } from '../proto/sandbox-host.ts';
import { parseDuration } from '../lib/duration.ts';
import { usageError } from './errors.ts';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LevelName = (typeof LEVELS)[number];

export function levelOf(name: LevelName): LogLevel {
  return `LOG_LEVEL_${name.toUpperCase()}` as LogLevel;
}

/** --since: a duration back from now (10m, 2h) or a point in time (2025-01-31T12:00:00Z). */
export function parseSince(text: string, now = Date.now()): number {
  try {
    return now - parseDuration(text);
  } catch {
    const time = Date.parse(text);
    if (Number.isFinite(time) && /\d{4}-\d{2}-\d{2}/.test(text)) return time;
    throw usageError(
      `Cannot read --since "${text}": give a duration such as 10m or 2h, or a time such as 2025-01-31T12:00:00Z`,
    );
  }
}

/** Lines of several sidecars, each already in time order, merged into one (stable for equal times). */
export function mergeByTime(streams: LogEntry[][]): LogEntry[] {
  return streams
    .flatMap((lines, source) => lines.map((line, i) => ({ line, source, i })))
    .sort((a, b) => a.line.timeMs - b.line.timeMs || a.source - b.source || a.i - b.i)
    .map((x) => x.line);
}

/** Identifies a line across the past query and the follow stream of one sidecar. */
export function lineKey(line: LogEntry): string {
  return `${line.timeMs} ${line.sandbox} ${line.requestId} ${line.message}`;
}

/** "2025-01-31T12:00:00.123Z INFO  hello-x9k2 <request id> message". */
export function formatLine(line: LogEntry): string {
  const level = line.level.replace('LOG_LEVEL_', '').padEnd(5);
  return `${new Date(line.timeMs).toISOString()} ${level} ${line.sandbox} ${line.requestId || '-'} ${line.message}`;
}

/** A line for -o json (one object a line) and -o yaml (one document a line). */
export function lineData(line: LogEntry): Record<string, unknown> {
  return {
    time: new Date(line.timeMs).toISOString(),
    level: line.level.replace('LOG_LEVEL_', '').toLowerCase(),
    namespace: line.namespace,
    deployment: line.deployment,
    sandbox: line.sandbox,
    requestId: line.requestId,
    stream: line.stream,
    message: line.message,
  };
}
