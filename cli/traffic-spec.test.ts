import { describe, expect, test } from 'vitest';
import { parseTrafficSpec } from './traffic-spec.ts';

describe('parseTrafficSpec', () => {
  test('revisions and latest with their percents, and tags on them or beside them at 0%', () => {
    expect(parseTrafficSpec(['3=90', 'latest=10'], ['canary=latest', 'old=2'])).toEqual([
      { revision: 3, percent: 90 },
      { latestRevision: true, percent: 10, tag: 'canary' },
      { revision: 2, percent: 0, tag: 'old' },
    ]);
    expect(parseTrafficSpec(['4=100%'])).toEqual([{ revision: 4, percent: 100 }]);
  });

  test.each([
    [['3=90'], [], 'add up to 90%, not 100%'],
    [['3=90', 'latest=20'], [], 'add up to 110%'],
    [['three=100'], [], 'a revision is a number'],
    [['3:100'], [], 'write <revision>=<percent>'],
    [['3=50', '3=50'], [], 'already has a share'],
    [['3=100'], ['Canary=3'], 'the tag a DNS label'],
    [['3=100'], ['a=3', 'a=latest'], 'given twice'],
    [[], [], 'Say where the traffic goes'],
  ])('%j %j is refused: %s', (splits, tags, message) => {
    expect(() => parseTrafficSpec(splits, tags)).toThrow(message);
  });
});
