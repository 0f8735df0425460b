import { describe, expect, test } from 'vitest';
import { Expectations } from './expectations.ts';

type Step =
  | ['expectCreations', number]
  | ['expectDeletions', string[]]
  | ['creationObserved']
  | ['deletionObserved', string]
  | ['advance', number]
  | ['delete'];

describe('Expectations', () => {
  test.each<{ name: string; steps: Step[]; satisfied: boolean }>([
    { name: 'an owner never seen is satisfied', steps: [], satisfied: true },
    {
      name: 'creations not yet observed hold the owner back',
      steps: [['expectCreations', 3], ['creationObserved']],
      satisfied: false,
    },
    {
      name: 'every creation observed satisfies',
      steps: [['expectCreations', 2], ['creationObserved'], ['creationObserved']],
      satisfied: true,
    },
    {
      name: 'more observations than expected do not go negative',
      steps: [
        ['expectCreations', 1],
        ['creationObserved'],
        ['creationObserved'],
        ['expectCreations', 1],
      ],
      satisfied: false,
    },
    {
      name: 'a deletion is satisfied only by the UID asked for',
      steps: [
        ['expectDeletions', ['a', 'b']],
        ['deletionObserved', 'a'],
        ['deletionObserved', 'x'],
      ],
      satisfied: false,
    },
    {
      name: 'both deletions observed satisfy',
      steps: [
        ['expectDeletions', ['a', 'b']],
        ['deletionObserved', 'b'],
        ['deletionObserved', 'a'],
      ],
      satisfied: true,
    },
    {
      name: 'a record past its TTL no longer holds the owner back',
      steps: [
        ['expectCreations', 1],
        ['advance', 1001],
      ],
      satisfied: true,
    },
    {
      name: 'a record inside its TTL still does',
      steps: [
        ['expectCreations', 1],
        ['advance', 999],
      ],
      satisfied: false,
    },
    {
      name: 'an expired record starts over instead of adding to leftovers',
      steps: [
        ['expectCreations', 5],
        ['advance', 2000],
        ['expectCreations', 1],
        ['creationObserved'],
      ],
      satisfied: true,
    },
    {
      name: 'deleting the owner forgets it',
      steps: [['expectCreations', 4], ['delete']],
      satisfied: true,
    },
  ])('$name', ({ steps, satisfied }) => {
    let now = 0;
    const expectations = new Expectations({ ttlMs: 1000, now: () => now });
    for (const step of steps) {
      switch (step[0]) {
        case 'expectCreations':
          expectations.expectCreations('ns/rs', step[1]);
          break;
        case 'expectDeletions':
          expectations.expectDeletions('ns/rs', step[1]);
          break;
        case 'creationObserved':
          expectations.creationObserved('ns/rs');
          break;
        case 'deletionObserved':
          expectations.deletionObserved('ns/rs', step[1]);
          break;
        case 'advance':
          now += step[1];
          break;
        case 'delete':
          expectations.delete('ns/rs');
          break;
      }
    }
    expect(expectations.satisfied('ns/rs')).toBe(satisfied);
  });
});
