import { expect, test } from 'vitest';
import { ApiContact } from './api-contact.ts';

test('contact is unbroken since the first answer, and a gap past the cut-off starts it again', () => {
  let now = 0;
  const contact = new ApiContact({ cutOffAfterMs: 4000, now: () => now });
  expect(contact.unbrokenSince()).toBeUndefined();
  now = 1000;
  contact.heard();
  now = 4000;
  contact.heard();
  expect(contact.unbrokenSince()).toBe(1000);
  // Silent past the cut-off: cut off now, whatever was heard before.
  now = 8500;
  expect(contact.unbrokenSince()).toBeUndefined();
  now = 20_000;
  contact.heard();
  expect(contact.unbrokenSince()).toBe(20_000);
});
