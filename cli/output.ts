// How verbs print: tables like kubectl's for people, JSON or YAML for
// scripts. Data goes to stdout; progress and notes go to stderr, so that
// `roost ... -o json | jq` always gets clean data.
import { stringify } from 'yaml';
import type { OutputFormat } from './options.ts';

/** Columns left-aligned, separated by three spaces, header in capitals (as kubectl prints). */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** JSON or YAML of any data; a trailing newline either way. */
export function formatData(format: 'json' | 'yaml', data: unknown): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data);
}

/**
 * Prints `data` as JSON or YAML, or as a table from `toTable` for table and
 * wide; `empty` is said on stderr when a table would have no rows.
 */
export function printResult<T>(
  format: OutputFormat,
  data: T,
  toTable: (data: T, wide: boolean) => { headers: string[]; rows: string[][] },
  empty?: string,
): void {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(formatData(format, data));
    return;
  }
  const { headers, rows } = toTable(data, format === 'wide');
  if (rows.length === 0 && empty) {
    process.stderr.write(`${empty}\n`);
    return;
  }
  process.stdout.write(formatTable(headers, rows));
}

/** A list in the shape kubectl prints for -o json: {apiVersion: v1, kind: List, items}. */
export function kubeList(items: unknown[]): { apiVersion: 'v1'; kind: 'List'; items: unknown[] } {
  return { apiVersion: 'v1', kind: 'List', items };
}

/** "45s", "3m12s", "3h", "2d4h", "40d": the age of an object as kubectl shows it. */
export function formatAge(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (hours < 3) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  return `${days}d`;
}

/** Milliseconds for a table cell: "0.8ms", "12ms", "1.25s". */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** Bytes for a table cell, in MiB: "42.3Mi". */
export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)}Mi`;
}
