// Fuzz: a CronTrigger's spec.schedule and spec.timeZone, as a user writes
// them. Any text is a schedule or InvalidScheduleError naming the field; a
// schedule's next time is always later than the time asked about, and
// @every <duration> runs at exact multiples of its interval from its origin.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  dueTimes,
  InvalidScheduleError,
  parseSchedule,
} from '../../controllers/crontrigger/resources/schedule.ts';
import { nastyText } from './support/arbitraries.ts';
import { expectOwnError, fuzz } from './support/budget.ts';

const field = fc.oneof(
  fc.constantFrom(
    '*',
    '*/5',
    '0',
    '59',
    '60',
    '1-5',
    '5-1',
    '1,2,3',
    'MON',
    'jan',
    'L',
    '?',
    '#',
    'W',
    '*/0',
    '-1',
    '99999999999',
    '1-2/3',
    '',
  ),
  fc.stringMatching(/^[0-9*,/-]{1,6}$/),
);
const schedule = fc.oneof(
  nastyText,
  fc.array(field, { minLength: 4, maxLength: 7 }).map((fields) => fields.join(' ')),
  fc.constantFrom(
    '@hourly',
    '@daily',
    '@weekly',
    '@monthly',
    '@yearly',
    '@annually',
    '@reboot',
    '@every',
    '@every 0s',
  ),
  fc
    .array(fc.tuple(fc.nat(5000), fc.constantFrom('ms', 's', 'm', 'h', 'x', '')), { maxLength: 3 })
    .map((parts) => `@every ${parts.map(([n, u]) => `${n}${u}`).join('')}`),
);
const timeZone = fc.option(
  fc.oneof(
    fc.constantFrom(
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kathmandu',
      'Etc/GMT+12',
      'Mars/Olympus',
      '',
    ),
    nastyText,
  ),
  { nil: undefined },
);

test('any schedule and time zone is read or refused with InvalidScheduleError naming the field', async () => {
  await fuzz(
    'cron: any schedule',
    fc.property(
      schedule,
      timeZone,
      fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
      (text, zone, after) => {
        const spec = zone === undefined ? { schedule: text } : { schedule: text, timeZone: zone };
        try {
          const parsed = parseSchedule(spec, new Date('2026-01-01T00:00:00Z'));
          const next = parsed.next(after);
          expect(next.getTime()).toBeGreaterThan(after.getTime());
          const { times } = dueTimes(parsed, after, new Date(after.getTime() + 3_600_000), 5);
          expect(times.length).toBeLessThanOrEqual(5);
        } catch (err) {
          expectOwnError(err, { class: InvalidScheduleError, codes: ['ROOST_INVALID_SCHEDULE'] });
          expect(['spec.schedule', 'spec.timeZone']).toContain((err as InvalidScheduleError).field);
        }
      },
    ),
    { share: 0.7 },
  );
});

test('@every <duration> runs at exact multiples of its interval from the origin', async () => {
  await fuzz(
    'cron: @every',
    fc.property(
      fc.integer({ min: 1, max: 100_000 }),
      fc.integer({ min: -1e9, max: 1e10 }),
      (seconds, offset) => {
        const origin = new Date('2026-01-01T00:00:00Z');
        const next = parseSchedule({ schedule: `@every ${seconds}s` }, origin).next(
          new Date(origin.getTime() + offset),
        );
        const since = next.getTime() - origin.getTime();
        expect(since % (seconds * 1000)).toBe(0);
        expect(since).toBeGreaterThan(Math.max(offset, 0) - 1);
        expect(next.getTime()).toBeGreaterThan(origin.getTime() + offset);
      },
    ),
    { share: 0.3 },
  );
});
