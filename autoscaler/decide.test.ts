import { describe, expect, test } from 'vitest';
import { decideReplicas, type Sample, type ScalingSpec, type ScalingState } from './decide.ts';

const spec: ScalingSpec = {
  minReplicas: 0,
  maxReplicas: 20,
  targetConcurrency: 10,
  targetUtilization: 0.7,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  scaleToZeroGraceMs: 30_000,
};
const calm: ScalingState = { panicUntil: 0, panicReplicas: 0, lastActiveAt: 0 };

/** One sample a second for the `seconds` before `now`, at `concurrency`. */
function steady(now: number, seconds: number, concurrency: number): Sample[] {
  return Array.from({ length: seconds }, (_, i) => ({
    time: now - (seconds - 1 - i) * 1000,
    concurrency,
  }));
}

const now = 1_000_000;

describe('decideReplicas', () => {
  test.each([
    // [what, samples, current, ready, wanted]
    ['steady load of 14 with 7 per replica needs 2', steady(now, 60, 14), 2, 2, 2],
    ['steady load of 15 rounds up to 3', steady(now, 60, 15), 2, 2, 3],
    [
      'more load than maxReplicas can carry stops at maxReplicas',
      steady(now, 60, 1000),
      20,
      20,
      20,
    ],
    ['a light load keeps one replica', steady(now, 60, 0.5), 1, 1, 1],
  ])('%s', (_, samples, current, ready, wanted) => {
    expect(
      decideReplicas({
        spec,
        samples,
        currentReplicas: current,
        readyReplicas: ready,
        now,
        state: calm,
        activationRequested: false,
      }).desired,
    ).toBe(wanted);
  });

  test('a step up to twice the capacity panics and scales on the short window', () => {
    const samples = [...steady(now - 6000, 54, 7), ...steady(now, 6, 40)];
    const decision = decideReplicas({
      spec,
      samples,
      currentReplicas: 1,
      readyReplicas: 1,
      now,
      state: calm,
      activationRequested: false,
    });
    expect(decision.panic).toBe(true);
    expect(decision.desired).toBe(Math.ceil(40 / 7));
  });

  test('while in panic the count never goes down', () => {
    const inPanic: ScalingState = { panicUntil: now + 30_000, panicReplicas: 6, lastActiveAt: now };
    const decision = decideReplicas({
      spec,
      samples: steady(now, 60, 1),
      currentReplicas: 6,
      readyReplicas: 6,
      now,
      state: inPanic,
      activationRequested: false,
    });
    expect(decision.panic).toBe(true);
    expect(decision.desired).toBe(6);
  });

  test('after the panic the stable window brings the count down', () => {
    const ended: ScalingState = { panicUntil: now - 1, panicReplicas: 6, lastActiveAt: now };
    const decision = decideReplicas({
      spec,
      samples: steady(now, 60, 7),
      currentReplicas: 6,
      readyReplicas: 6,
      now,
      state: ended,
      activationRequested: false,
    });
    expect(decision.panic).toBe(false);
    expect(decision.desired).toBe(1);
  });

  test('no traffic keeps one replica during the grace period, then goes to zero', () => {
    const recent: ScalingState = { ...calm, lastActiveAt: now - 10_000 };
    expect(
      decideReplicas({
        spec,
        samples: steady(now, 60, 0),
        currentReplicas: 1,
        readyReplicas: 1,
        now,
        state: recent,
        activationRequested: false,
      }).desired,
    ).toBe(1);
    const old: ScalingState = { ...calm, lastActiveAt: now - 31_000 };
    expect(
      decideReplicas({
        spec,
        samples: steady(now, 60, 0),
        currentReplicas: 1,
        readyReplicas: 1,
        now,
        state: old,
        activationRequested: false,
      }).desired,
    ).toBe(0);
  });

  test('minReplicas are kept warm without traffic', () => {
    expect(
      decideReplicas({
        spec: { ...spec, minReplicas: 2 },
        samples: steady(now, 60, 0),
        currentReplicas: 2,
        readyReplicas: 2,
        now,
        state: calm,
        activationRequested: false,
      }).desired,
    ).toBe(2);
  });

  test('an activation request scales from zero to one at once', () => {
    const decision = decideReplicas({
      spec,
      samples: [],
      currentReplicas: 0,
      readyReplicas: 0,
      now,
      state: calm,
      activationRequested: true,
    });
    expect(decision.desired).toBe(1);
    expect(decision.state.lastActiveAt).toBe(now);
  });

  test('held requests at zero scale up past one when there are many', () => {
    const decision = decideReplicas({
      spec,
      samples: steady(now, 2, 50),
      currentReplicas: 0,
      readyReplicas: 0,
      now,
      state: calm,
      activationRequested: true,
    });
    expect(decision.desired).toBe(Math.ceil(50 / 7));
  });
});
