// How many replicas a function needs, from the concurrency gateways observed,
// in the manner of Knative's autoscaler: the average over a stable window
// (60 s) sets the count; the average over a short panic window (6 s) takes
// over when it reaches twice what the ready replicas can carry, and while in
// panic the count never goes down. A function at rest goes to zero only after
// a grace period without traffic, and never below minReplicas.
//
// A pure function of its inputs, so that every rule has a table test.

export interface ScalingSpec {
  minReplicas: number;
  maxReplicas: number;
  /** In-flight requests one replica should carry at full utilisation. */
  targetConcurrency: number;
  /** Fraction of targetConcurrency to aim for. */
  targetUtilization: number;
  stableWindowMs: number;
  panicWindowMs: number;
  scaleToZeroGraceMs: number;
}

/** Total in-flight concurrency across gateways, one sample per tick. */
export interface Sample {
  time: number;
  concurrency: number;
}

export interface ScalingState {
  /** Panic mode lasts until then (ms); 0 when not in panic. */
  panicUntil: number;
  /** The highest count decided during this panic. */
  panicReplicas: number;
  /** Last time any traffic was seen (or activation asked for). */
  lastActiveAt: number;
}

export interface ScalingInput {
  spec: ScalingSpec;
  samples: readonly Sample[];
  currentReplicas: number;
  readyReplicas: number;
  now: number;
  state: ScalingState;
  /** A gateway holds requests for this function and asked for it to be activated. */
  activationRequested: boolean;
}

export interface ScalingDecision {
  desired: number;
  state: ScalingState;
  panic: boolean;
  stableConcurrency: number;
  panicConcurrency: number;
}

/** "Panic at twice the target": the ratio of panic-window demand to ready capacity that triggers it. */
export const PANIC_THRESHOLD = 2;

export function decideReplicas(input: ScalingInput): ScalingDecision {
  const { spec, now, state } = input;
  const perReplica = spec.targetConcurrency * spec.targetUtilization;
  const stableConcurrency = average(input.samples, now - spec.stableWindowMs);
  const panicConcurrency = average(input.samples, now - spec.panicWindowMs);
  const stableWanted = Math.ceil(stableConcurrency / perReplica);
  const panicWanted = Math.ceil(panicConcurrency / perReplica);

  const latest = input.samples.at(-1);
  const lastActiveAt =
    input.activationRequested || (latest?.concurrency ?? 0) > 0 ? now : state.lastActiveAt;

  const overThreshold =
    panicConcurrency / perReplica / Math.max(1, input.readyReplicas) >= PANIC_THRESHOLD;
  let panicUntil = state.panicUntil;
  if (overThreshold) panicUntil = now + spec.stableWindowMs;
  else if (panicUntil <= now) panicUntil = 0;
  const panic = panicUntil > now;

  let desired: number;
  let panicReplicas = 0;
  if (panic) {
    // Scale up as fast as demand says; never down until the panic is over.
    panicReplicas = Math.max(state.panicReplicas, panicWanted, input.currentReplicas);
    desired = panicReplicas;
  } else {
    desired = stableWanted;
  }

  if (input.activationRequested) desired = Math.max(desired, 1);
  // Keep one replica through the grace period after the last traffic.
  if (desired === 0 && input.currentReplicas > 0 && now - lastActiveAt < spec.scaleToZeroGraceMs)
    desired = 1;
  desired = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, desired));

  return {
    desired,
    state: { panicUntil, panicReplicas, lastActiveAt },
    panic,
    stableConcurrency,
    panicConcurrency,
  };
}

function average(samples: readonly Sample[], since: number): number {
  let sum = 0;
  let count = 0;
  for (const sample of samples) {
    if (sample.time <= since) continue;
    sum += sample.concurrency;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}
