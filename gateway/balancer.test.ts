import { expect, test } from 'vitest';
import { pickTwoChoices } from './balancer.ts';

test('of two random choices the less loaded wins', () => {
  const endpoints = [
    { id: 'a', inFlight: 5 },
    { id: 'b', inFlight: 1 },
    { id: 'c', inFlight: 3 },
  ];
  const rolls = [0.1, 0.6]; // picks a and c
  expect(pickTwoChoices(endpoints, () => rolls.shift()!)?.id).toBe('c');
});

/** A seeded generator, so the test sees the same sequence every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('requests that never finish spread far more evenly than random placement', () => {
  const spread = (choose: (endpoints: { inFlight: number }[]) => { inFlight: number }) => {
    const endpoints = Array.from({ length: 8 }, () => ({ inFlight: 0 }));
    for (let i = 0; i < 2000; i++) choose(endpoints).inFlight++;
    const loads = endpoints.map((e) => e.inFlight);
    return Math.max(...loads) - Math.min(...loads);
  };
  const random = seeded(42);
  const twoChoices = spread((endpoints) => pickTwoChoices(endpoints, random)!);
  const oneChoice = spread((endpoints) => endpoints[Math.floor(random() * endpoints.length)]!);
  expect(twoChoices).toBeLessThanOrEqual(3);
  expect(oneChoice).toBeGreaterThan(5 * twoChoices);
});

test('no candidates, no choice', () => {
  expect(pickTwoChoices([])).toBeUndefined();
});
