// A CronTrigger's schedule as times: croner (a well-kept cron library: 5 and
// 6 fields, nicknames, IANA time zones) for cron expressions, and Roost's own
// `@every <duration>`, which croner lacks, counted from the trigger's
// creation so that every leader computes the same times.
import { Cron } from 'croner';
import { RoostError } from '../../../lib/errors.ts';

export class InvalidScheduleError extends RoostError {
  /** The field at fault: spec.schedule or spec.timeZone. */
  readonly field: string;

  constructor(field: string, message: string) {
    super('ROOST_INVALID_SCHEDULE', `${field}: ${message}`);
    this.field = field;
  }
}

export interface Schedule {
  /** The first scheduled time strictly after `after`. */
  next(after: Date): Date;
}

/** @every runs at most this often: a trigger is an event through a queue, not a timer. */
const MIN_EVERY_MS = 1000;
/** And at least this often: further apart, its times leave what a Date can hold (use a cron expression). */
const MAX_EVERY_MS = 366 * 24 * 3_600_000;

export function parseSchedule(
  spec: { schedule: string; timeZone?: string },
  origin: Date,
): Schedule {
  const text = spec.schedule.trim();
  if (spec.timeZone !== undefined) checkTimeZone(spec.timeZone);
  const every = /^@every\s+(.+)$/.exec(text);
  if (every) return everySchedule(parseEvery(every[1]!), origin);
  const fields = text.split(/\s+/);
  if (!text.startsWith('@') && fields.length !== 5 && fields.length !== 6)
    throw new InvalidScheduleError(
      'spec.schedule',
      `"${text}" has ${fields.length} fields; use 5 (minute hour day month weekday) or 6 (with seconds first)`,
    );
  let cron: Cron;
  try {
    cron = new Cron(text, { timezone: spec.timeZone, paused: true });
  } catch (err) {
    throw new InvalidScheduleError(
      'spec.schedule',
      `"${text}" is not a cron schedule: ${(err as Error).message}`,
    );
  }
  return {
    next(after) {
      const next = cron.nextRun(after);
      if (!next) throw new InvalidScheduleError('spec.schedule', `"${text}" never runs again`);
      return next;
    },
  };
}

function everySchedule(intervalMs: number, origin: Date): Schedule {
  return {
    next(after) {
      const elapsed = after.getTime() - origin.getTime();
      const k = elapsed < 0 ? 1 : Math.floor(elapsed / intervalMs) + 1;
      return new Date(origin.getTime() + k * intervalMs);
    },
  };
}

/** "30s", "1m30s", "2h", "500ms" (below a second, or above 366 days, is refused). */
function parseEvery(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim())
    throw new InvalidScheduleError(
      'spec.schedule',
      `"@every ${text}" is not a duration; use units ms, s, m, h, such as @every 30s or @every 1m30s`,
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
  if (ms < MIN_EVERY_MS)
    throw new InvalidScheduleError('spec.schedule', `"@every ${text}" is shorter than 1s`);
  if (!(ms <= MAX_EVERY_MS))
    throw new InvalidScheduleError(
      'spec.schedule',
      `"@every ${text}" is longer than 366 days; use a cron expression such as "0 0 1 1 *"`,
    );
  return ms;
}

function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InvalidScheduleError(
      'spec.timeZone',
      `"${timeZone}" is not an IANA time zone, such as Europe/Berlin or America/New_York`,
    );
  }
}

/**
 * The scheduled times in (after, until], oldest first, and how many there
 * were in all: a controller that was away for long runs at most `limit` of
 * them, the most recent.
 */
export function dueTimes(
  schedule: Schedule,
  after: Date,
  until: Date,
  limit: number,
): { times: Date[]; missed: number } {
  const times: Date[] = [];
  let missed = 0;
  for (let t = schedule.next(after); t.getTime() <= until.getTime(); t = schedule.next(t)) {
    times.push(t);
    if (times.length > limit) {
      times.shift();
      missed++;
    }
    // A schedule far behind (every second, for a week) is not walked to its end.
    if (missed > 100_000) break;
  }
  return { times, missed };
}
