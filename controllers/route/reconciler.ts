// Reconciles one SandboxRoute, top to bottom:
//   1. observe its SandboxDeployment, that deployment's ReplicaSets (its
//      revisions) and endpoints (ready Sandboxes per revision);
//   2. resolve the spec's targets to revisions (targets.ts); a target naming
//      a revision that does not exist keeps the last good split and marks the
//      route not Ready, naming the revision;
//   3. with a canary policy, take one step of the canary (canary.ts) against
//      the gateways' counts for the new revision: the split to apply now, a
//      promotion (the spec rewritten to the new revision) or a rollback;
//   4. record status: the split the gateways apply, one address per tag,
//      Ready and Canary conditions, with Events on canary transitions.
import type {
  ResolvedTarget,
  RouteAddress,
  SandboxDeployment,
  SandboxEndpoints,
  SandboxReplicaSet,
  SandboxRoute,
} from '../../kube/api/roost.ts';
import { SandboxRoutes } from '../../kube/api/resources.ts';
import { keyOf, type KubeClient } from '../../kube/client.ts';
import type { ReconcileResult } from '../../kube/controller.ts';
import { setCondition } from '../../kube/conditions.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Store } from '../../kube/informer.ts';
import { CANARY_ACTION_ANNOTATION } from '../../kube/well-known.ts';
import { addCounts, type RevisionCounts } from '../../gateway/revision-stats.ts';
import { BY_NAMESPACE } from '../deployment/reconciler.ts';
import { revisionOf } from '../deployment/resources/replicaset.ts';
import { controllerRefOf } from '../shared/owners.ts';
import { sameStatus } from '../shared/status.ts';
import { stepCanary, type CanaryAction, type CanaryOutcome } from './resources/canary.ts';
import { resolveTargets, trafficSummary } from './resources/targets.ts';
import type { RevisionCountsSource } from './revision-counts.ts';

type RouteStatus = NonNullable<SandboxRoute['status']>;

export interface RouteReconcilerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  routes: Store<SandboxRoute>;
  deployments: Store<SandboxDeployment>;
  /** With index BY_NAMESPACE. */
  replicaSets: Store<SandboxReplicaSet>;
  endpoints: Store<SandboxEndpoints>;
  counts: RevisionCountsSource;
}

/**
 * Where a step's counts began, per route. Kept in memory for speed and in the
 * route's status (canary.stepBaseline), so that a new leader judges the same
 * window instead of beginning it anew.
 */
interface StepBaseline {
  revision: number;
  step: number;
  counts: RevisionCounts;
}

export class RouteReconciler {
  readonly #options: RouteReconcilerOptions;
  readonly #baselines = new Map<string, StepBaseline>();

  constructor(options: RouteReconcilerOptions) {
    this.#options = options;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const route = this.#options.routes.get(key);
    if (!route || route.metadata.deletionTimestamp) {
      this.#baselines.delete(key);
      return;
    }
    const namespace = route.metadata.namespace!;
    const deployment = this.#options.deployments.get(`${namespace}/${route.spec.deployment}`);
    const previous = route.status ?? {};
    if (!deployment)
      return this.#recordStatus(route, {
        ...previous,
        conditions: setCondition(previous.conditions, {
          type: 'Ready',
          status: 'False',
          reason: 'DeploymentNotFound',
          message: `SandboxDeployment ${namespace}/${route.spec.deployment} does not exist`,
        }),
      });

    const revisions = this.#revisionsOf(deployment);
    const resolution = resolveTargets(route, revisions, this.#readyByRevision(deployment));
    if (resolution.missing.length > 0) {
      const have = revisions.map(revisionOf).sort((x, y) => x - y);
      return this.#recordStatus(route, {
        ...previous,
        // The last good split keeps serving, as a Knative Route keeps its last ready traffic.
        conditions: setCondition(previous.conditions, {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionNotFound',
          message: `SandboxDeployment ${namespace}/${deployment.metadata.name} has no revision ${resolution.missing.join(', ')} (it has ${have.join(', ') || 'none'})`,
        }),
      });
    }

    let targets = resolution.targets;
    let canary: CanaryOutcome | undefined;
    if (route.spec.canary) {
      canary = await this.#stepCanary(key, route, resolution.targets, resolution.latest);
      targets = canary.targets;
    }
    // Status first, then the spec a promotion rewrites: a pass that sees the
    // new spec then sees the canary's outcome too, never a stale Progressing
    // that a spec with nothing newer would end without a word.
    const result = await this.#recordStatus(route, this.#status(route, targets, canary));
    if (canary) await this.#actOnCanary(route, canary);
    return canary?.requeueAfterMs !== undefined
      ? { requeueAfterMs: canary.requeueAfterMs }
      : result;
  }

  /** The deployment's ReplicaSets: its revisions. */
  #revisionsOf(deployment: SandboxDeployment): SandboxReplicaSet[] {
    return this.#options.replicaSets
      .byIndex(BY_NAMESPACE, deployment.metadata.namespace!)
      .filter(
        (rs) =>
          controllerRefOf(rs)?.uid === deployment.metadata.uid && !rs.metadata.deletionTimestamp,
      );
  }

  #readyByRevision(deployment: SandboxDeployment): Map<number, number> {
    const endpoints = this.#options.endpoints.get(
      `${deployment.metadata.namespace}/${deployment.metadata.name}`,
    );
    const ready = new Map<number, number>();
    for (const e of endpoints?.status?.endpoints ?? [])
      if (e.ready && e.revisionNumber)
        ready.set(e.revisionNumber, (ready.get(e.revisionNumber) ?? 0) + 1);
    return ready;
  }

  async #stepCanary(
    key: string,
    route: SandboxRoute,
    stable: ResolvedTarget[],
    latest: ResolvedTarget | undefined,
  ): Promise<CanaryOutcome> {
    const previous = route.status?.canary;
    const namespace = route.metadata.namespace!;
    const action = route.metadata.annotations?.[CANARY_ACTION_ANNOTATION];
    let window: RevisionCounts | undefined;
    let current: RevisionCounts | undefined;
    const judging =
      previous?.phase === 'Progressing' &&
      previous.stepStartedAt &&
      latest &&
      previous.revision === latest.revision;
    if (judging) {
      current = await this.#options.counts.counts(
        namespace,
        route.spec.deployment,
        latest.revision,
      );
      const remembered = this.#baselines.get(key);
      const baseline =
        remembered?.revision === latest.revision && remembered.step === previous.step
          ? remembered.counts
          : previous.stepBaseline;
      // A gateway that restarted counts from zero: the window begins again from here.
      if (baseline && current.requests >= baseline.requests)
        window = addCounts(current, baseline, -1);
      this.#baselines.set(key, {
        revision: latest.revision,
        step: previous.step ?? 0,
        counts: window ? baseline! : current,
      });
    }
    const outcome = stepCanary({
      policy: route.spec.canary!,
      previous,
      stable,
      latest,
      window,
      action: action === 'promote' || action === 'abort' ? (action as CanaryAction) : undefined,
      now: Date.now(),
    });
    if (outcome.stepBegan && outcome.status?.revision !== undefined) {
      current ??= await this.#options.counts.counts(
        namespace,
        route.spec.deployment,
        outcome.status.revision,
      );
      this.#baselines.set(key, {
        revision: outcome.status.revision,
        step: outcome.status.step ?? 0,
        counts: current,
      });
    }
    // Recorded with the step, for whichever controller judges it next.
    const baseline = this.#baselines.get(key);
    const status = outcome.status;
    if (
      baseline &&
      status?.phase === 'Progressing' &&
      status.stepStartedAt &&
      baseline.revision === status.revision &&
      baseline.step === (status.step ?? 0)
    )
      outcome.status = { ...status, stepBaseline: baseline.counts };
    return outcome;
  }

  /** Announces a transition, rewrites the spec on promotion, and clears a handled promote/abort. */
  async #actOnCanary(route: SandboxRoute, outcome: CanaryOutcome): Promise<void> {
    const { client, recorder } = this.#options;
    if (outcome.event) {
      if (outcome.event.type === 'Warning')
        recorder.warning(route, outcome.event.reason, outcome.event.message);
      else recorder.normal(route, outcome.event.reason, outcome.event.message);
    }
    const action = route.metadata.annotations?.[CANARY_ACTION_ANNOTATION];
    if (outcome.promoteTo === undefined && action === undefined) return;
    const patch: Record<string, unknown> = {};
    if (action !== undefined)
      patch.metadata = { annotations: { [CANARY_ACTION_ANNOTATION]: null } };
    if (outcome.promoteTo !== undefined)
      patch.spec = {
        targets: [
          { revision: outcome.promoteTo, percent: 100 },
          // Tags keep answering, at 0%.
          ...route.spec.targets
            .filter((t) => t.tag && t.revision !== outcome.promoteTo)
            .map((t) => ({ revision: t.revision, percent: 0, tag: t.tag })),
        ],
      };
    await client.patch(SandboxRoutes, keyOf(route), patch);
  }

  #status(
    route: SandboxRoute,
    targets: ResolvedTarget[],
    canary: CanaryOutcome | undefined,
  ): RouteStatus {
    const previous = route.status ?? {};
    const waiting = targets.filter((t) => (t.percent > 0 || t.tag) && !t.readySandboxes);
    let conditions = setCondition(
      previous.conditions,
      waiting.length === 0
        ? {
            type: 'Ready',
            status: 'True',
            reason: 'TargetsReady',
            message: 'Every revision it routes to has a ready Sandbox',
            observedGeneration: route.metadata.generation,
          }
        : {
            type: 'Ready',
            status: 'False',
            reason: 'NoReadySandbox',
            message: `Revision ${waiting.map((t) => t.revision).join(', ')} has no ready Sandbox (a request wakes one)`,
            observedGeneration: route.metadata.generation,
          },
    );
    const phase = canary?.status?.phase;
    if (phase)
      conditions = setCondition(conditions, {
        type: 'Canary',
        status: phase === 'Promoted' ? 'True' : phase === 'RolledBack' ? 'False' : 'Unknown',
        reason: phase,
        message: canary!.status!.message ?? '',
      });
    return {
      observedGeneration: route.metadata.generation,
      targets,
      addresses: addressesOf(route, targets),
      traffic: trafficSummary(targets),
      ...(canary?.status ? { canary: canary.status } : {}),
      conditions,
    };
  }

  async #recordStatus(route: SandboxRoute, status: RouteStatus): Promise<void> {
    if (sameStatus(route.status ?? {}, status)) return;
    try {
      await this.#options.client.patch(
        SandboxRoutes,
        keyOf(route),
        // A merge patch: a field this status lacks (canary) must go, so say null.
        // With the resourceVersion read: a pass on a stale copy fails and reads again.
        {
          metadata: { resourceVersion: route.metadata.resourceVersion },
          status: { canary: null, ...status },
        },
        { subresource: 'status' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** The route's own address, then one per tag. */
function addressesOf(route: SandboxRoute, targets: ResolvedTarget[]): RouteAddress[] {
  const base = `/fn/${route.metadata.namespace}/${route.spec.deployment}`;
  const own =
    route.metadata.name === route.spec.deployment ? base : `${base}@${route.metadata.name}`;
  return [
    { path: own },
    ...targets
      .filter((t) => t.tag)
      .map((t) => ({ tag: t.tag!, revision: t.revision, path: `${base}@${t.tag}` })),
  ];
}
