import { expect, test } from 'vitest';
import type { Lease } from '../../kube/api/core.ts';
import { Heartbeats } from './heartbeats.ts';

const lease = (renewTime: string): Lease => ({
  metadata: { name: 'h1', namespace: 'pool' },
  spec: { renewTime },
});

test('a heartbeat moves when the renewTime changes, by the observer clock, whatever time it carries', () => {
  const beats = new Heartbeats();
  beats.observe('h1', lease('2020-01-01T00:00:00.000000Z'), 1000);
  expect(beats.lastChangeAt('h1', 5000)).toBe(1000);
  // The same Lease seen again (a relist, a resync) is not a renewal.
  beats.observe('h1', lease('2020-01-01T00:00:00.000000Z'), 4000);
  expect(beats.lastChangeAt('h1', 5000)).toBe(1000);
  // A renewal delayed by a paused API server carries an old time: still a renewal.
  beats.observe('h1', lease('2019-12-31T23:59:59.000000Z'), 9000);
  expect(beats.lastChangeAt('h1', 9500)).toBe(9000);
});

test('a host first seen without a Lease counts from the moment it was first seen', () => {
  const beats = new Heartbeats();
  expect(beats.lastChangeAt('h2', 3000)).toBe(3000);
  expect(beats.lastChangeAt('h2', 8000)).toBe(3000);
  beats.forget('h2');
  expect(beats.lastChangeAt('h2', 9000)).toBe(9000);
});
