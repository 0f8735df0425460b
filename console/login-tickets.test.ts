import { expect, test } from 'vitest';
import { LoginTicketError, LoginTickets, mintLoginTicket } from './login-tickets.ts';

const KEY = 'a-login-key-of-enough-length';

test('a ticket opens one session, once', () => {
  const tickets = new LoginTickets(KEY);
  const ticket = mintLoginTicket(KEY);
  expect(() => tickets.redeem(ticket)).not.toThrow();
  expect(() => tickets.redeem(ticket)).toThrow(/used already/);
});

test.each([
  [
    'signed with another key',
    mintLoginTicket('another-key-of-enough-length'),
    /signature is wrong/,
  ],
  ['malformed', 'no-dots-here', /malformed/],
  ['too long', `${'a'.repeat(150)}.${'b'.repeat(60)}.c`, /malformed/],
  [
    'with a changed expiry',
    (() => {
      const [, n, s] = mintLoginTicket(KEY).split('.');
      return `zzzzzzzzz.${n}.${s}`;
    })(),
    /signature is wrong/,
  ],
])('a ticket %s is refused', (_, ticket, message) => {
  expect(() => new LoginTickets(KEY).redeem(ticket)).toThrow(message);
});

test('a ticket expires after its time to live', () => {
  const tickets = new LoginTickets(KEY);
  const ticket = mintLoginTicket(KEY, 1_000_000, 60_000);
  expect(() => tickets.redeem(ticket, 1_060_001)).toThrow(LoginTicketError);
  expect(() => tickets.redeem(ticket, 1_059_000)).not.toThrow();
});

test('a short key is refused at start', () => {
  expect(() => new LoginTickets('short')).toThrow(/at least 16/);
});
