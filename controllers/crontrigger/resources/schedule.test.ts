import { describe, expect, test } from 'vitest';
import { dueTimes, InvalidScheduleError, parseSchedule } from './schedule.ts';

const origin = new Date('2026-03-01T00:00:00Z');
const iso = (d: Date) => d.toISOString();

describe('parseSchedule', () => {
  test.each([
    ['*/15 * * * *', '2026-03-01T10:07:00Z', '2026-03-01T10:15:00.000Z'],
    ['*/2 * * * * *', '2026-03-01T10:00:01Z', '2026-03-01T10:00:02.000Z'],
    ['@hourly', '2026-03-01T10:07:00Z', '2026-03-01T11:00:00.000Z'],
    ['@every 30s', '2026-03-01T00:00:00Z', '2026-03-01T00:00:30.000Z'],
    ['@every 1m30s', '2026-03-01T00:01:31Z', '2026-03-01T00:03:00.000Z'],
  ])('%s after %s is %s', (schedule, after, next) => {
    expect(iso(parseSchedule({ schedule }, origin).next(new Date(after)))).toBe(next);
  });

  test('a time zone moves the hour: 09:00 in Berlin is 08:00 UTC in winter', () => {
    const s = parseSchedule({ schedule: '0 9 * * *', timeZone: 'Europe/Berlin' }, origin);
    expect(iso(s.next(new Date('2026-03-01T00:00:00Z')))).toBe('2026-03-01T08:00:00.000Z');
  });

  test.each([
    ['* * *', 'spec.schedule', 'has 3 fields'],
    ['61 * * * *', 'spec.schedule', 'minute'],
    ['0 0 0 1 1 * 2030', 'spec.schedule', 'has 7 fields'],
    ['@every 500ms', 'spec.schedule', 'shorter than 1s'],
    // Found by `npm run test:fuzz`: its next time was an Invalid Date.
    ['@every 2410001000h', 'spec.schedule', 'longer than 366 days'],
    ['@every soon', 'spec.schedule', 'not a duration'],
  ])('%s is refused naming %s', (schedule, field, says) => {
    const error = (() => {
      try {
        parseSchedule({ schedule }, origin);
      } catch (err) {
        return err as InvalidScheduleError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(InvalidScheduleError);
    expect(error.field).toBe(field);
    expect(error.message).toContain(says);
  });

  test('an unknown time zone is refused naming spec.timeZone', () => {
    expect(() => parseSchedule({ schedule: '@hourly', timeZone: 'Mars/Olympus' }, origin)).toThrow(
      /^spec\.timeZone: "Mars\/Olympus" is not an IANA time zone/,
    );
  });
});

describe('dueTimes', () => {
  test('every time in (after, until], oldest first', () => {
    const s = parseSchedule({ schedule: '@every 10s' }, origin);
    const { times, missed } = dueTimes(
      s,
      new Date('2026-03-01T00:00:10Z'),
      new Date('2026-03-01T00:00:40Z'),
      10,
    );
    expect(times.map(iso)).toEqual([
      '2026-03-01T00:00:20.000Z',
      '2026-03-01T00:00:30.000Z',
      '2026-03-01T00:00:40.000Z',
    ]);
    expect(missed).toBe(0);
  });

  test('beyond the limit, the most recent are kept and the rest counted', () => {
    const s = parseSchedule({ schedule: '@every 1s' }, origin);
    const { times, missed } = dueTimes(s, origin, new Date('2026-03-01T00:01:00Z'), 5);
    expect(times.map(iso).at(-1)).toBe('2026-03-01T00:01:00.000Z');
    expect(times).toHaveLength(5);
    expect(missed).toBe(55);
  });
});
