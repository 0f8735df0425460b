// Picks the endpoint for a request: of two endpoints chosen at random, the one
// with fewer requests in flight from this gateway ("power of two choices").
// It spreads load nearly as well as scanning every endpoint, at constant cost,
// and without herding every gateway onto the same least-loaded one.

export interface Balanced {
  inFlight: number;
}

export function pickTwoChoices<T extends Balanced>(
  candidates: readonly T[],
  random: () => number = Math.random,
): T | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  if (n === 1) return candidates[0];
  const i = Math.floor(random() * n);
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  return b.inFlight < a.inFlight ? b : a;
}
