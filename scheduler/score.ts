// How to choose among host pods that fit. By default: spread the replicas of
// one SandboxDeployment over distinct host pods, then over distinct nodes,
// and among equals pack (most allocated first), so that low-frequency
// functions fill few pods and whole pods stay free for large ones. Spreading
// outranks packing: losing one host pod should take at most one replica of a
// function, "where the pool allows" (when every pod already has one, packing
// decides again). Scores are plain numbers so that a table can test them.
import type { Host, HostUsage, SandboxRequest } from './types.ts';

/** Per replica of the same deployment already on the host pod. */
const SAME_POD_PENALTY = 10_000;
/** Per replica of the same deployment already on the host pod's node. */
const SAME_NODE_PENALTY = 1_000;

/**
 * 0..100: how full the host pod would be with this Sandbox, memory and CPU
 * weighted alike (as kube-scheduler's MostAllocated). Higher packs tighter.
 */
export function mostAllocated(host: Host, usage: HostUsage, request: SandboxRequest): number {
  const fractions: number[] = [];
  if (host.capacity.memoryMiB > 0)
    fractions.push((usage.memoryMiB + request.memoryMiB) / host.capacity.memoryMiB);
  if (Number.isFinite(host.capacity.cpuMillis) && host.capacity.cpuMillis > 0)
    fractions.push((usage.cpuMillis + request.cpuMillis) / host.capacity.cpuMillis);
  if (fractions.length === 0) return 0;
  return (100 * fractions.reduce((a, b) => a + b, 0)) / fractions.length;
}

/** 0..100, higher emptier: the opposite of mostAllocated, kube-scheduler's default. */
export function leastAllocated(host: Host, usage: HostUsage, request: SandboxRequest): number {
  return 100 - mostAllocated(host, usage, request);
}

export interface ScoreContext {
  usageOf(host: Host): HostUsage;
  /** Replicas of a deployment on each node ("" when unknown), over every host pod. */
  replicasOnNode(deployment: string, nodeName: string): number;
}

/** Negative: how much placing here would concentrate the deployment. */
export function spreadPenalty(host: Host, context: ScoreContext, request: SandboxRequest): number {
  if (!request.deployment) return 0;
  const onPod = context.usageOf(host).deployments.get(request.deployment) ?? 0;
  const onNode = host.nodeName ? context.replicasOnNode(request.deployment, host.nodeName) : 0;
  return -(onPod * SAME_POD_PENALTY + onNode * SAME_NODE_PENALTY);
}

export type Scorer = (host: Host, context: ScoreContext, request: SandboxRequest) => number;

/** The default: spread a deployment's replicas, then bin-pack. */
export const spreadThenPack: Scorer = (host, context, request) =>
  spreadPenalty(host, context, request) + mostAllocated(host, context.usageOf(host), request);

/** Baselines for the benchmark: kube-scheduler's default spreading, and first fit. */
export const spreadOnly: Scorer = (host, context, request) =>
  spreadPenalty(host, context, request) + leastAllocated(host, context.usageOf(host), request);
export const firstFit: Scorer = () => 0;

export const SCORERS = { spreadThenPack, spreadOnly, firstFit } as const;
export type ScorerName = keyof typeof SCORERS;

/** The best host pod; ties go to the first by name, so that decisions are reproducible. */
export function pickHost(
  feasible: readonly Host[],
  context: ScoreContext,
  request: SandboxRequest,
  scorer: Scorer = spreadThenPack,
): Host | undefined {
  let best: Host | undefined;
  let bestScore = -Infinity;
  for (const host of feasible) {
    const score = scorer(host, context, request);
    if (score > bestScore || (score === bestScore && best && host.name < best.name)) {
      best = host;
      bestScore = score;
    }
  }
  return best;
}
