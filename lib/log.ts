// Structured logs with pino: one JSON line per event, a `component` field on
// every line, and the level from ROOST_LOG_LEVEL (default info).
import { pino, type Logger } from 'pino';

export type { Logger };

const root = pino({
  level: process.env.ROOST_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export function createLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...fields });
}
