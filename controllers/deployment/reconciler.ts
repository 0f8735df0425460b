// Reconciles one SandboxDeployment, top to bottom:
//   1. a requested rollback rewrites the template and ends this pass;
//   2. observe the ReplicaSets it owns (adopting and releasing by selector);
//   3. find or create the ReplicaSet of the current template (giving a
//      reused one the newest revision number);
//   4. set apart the revisions SandboxRoutes name (routed.ts): the rollout
//      neither scales them down nor deletes them as history;
//   5. take one step of the strategy (RollingUpdate or Recreate), for the
//      newest revision's share when a default route splits the traffic;
//   6. scale each routed revision to its share of the replicas;
//   7. clean up old revisions beyond revisionHistoryLimit once done;
//   8. record status and conditions, with Events on transitions.
import type {
  Sandbox,
  SandboxDeployment,
  SandboxReplicaSet,
  SandboxRoute,
} from '../../kube/api/roost.ts';
import { SandboxDeployments, SandboxReplicaSets } from '../../kube/api/resources.ts';
import { cacheKey, keyOf, splitKey, type KubeClient } from '../../kube/client.ts';
import type { ReconcileResult } from '../../kube/controller.ts';
import { isAlreadyExists, isNotFound } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Store } from '../../kube/informer.ts';
import {
  REVISION_ANNOTATION,
  ROLLBACK_TO_ANNOTATION,
  revisionUsedAnnotation,
} from '../../kube/well-known.ts';
import { NameCollisionError } from '../errors.ts';
import { claimChildren, controllerRefOf } from '../shared/owners.ts';
import { sameStatus } from '../shared/status.ts';
import { makeReplicaSet, maxRevision, revisionOf, rollbackTarget } from './resources/replicaset.ts';
import {
  newReplicaSetReplicas,
  planRecreate,
  planRollingUpdate,
  rolloutComplete,
  type ScaleAction,
} from './resources/rollout.ts';
import { computeDeploymentStatus } from './resources/status.ts';
import {
  isTagOnly,
  newestRevisionReplicas,
  replicasForShare,
  tagAwakeUntil,
  routedRevisions,
  type RevisionShare,
} from './resources/routed.ts';
import {
  deploymentSelector,
  normalizedTemplate,
  sameTemplate,
  templateHash,
  withoutHashLabel,
} from './resources/template.ts';
import { AUTOSCALING_DEFAULTS, WORKLOAD_DEFAULTS } from '../../kube/api/defaults.ts';

export const BY_NAMESPACE = 'namespace';
/** SandboxRoutes by "namespace/deployment". */
export const ROUTES_BY_DEPLOYMENT = 'deployment';

export interface DeploymentReconcilerOptions {
  client: KubeClient;
  recorder: EventRecorder;
  deployments: Store<SandboxDeployment>;
  /** With index BY_NAMESPACE. */
  replicaSets: Store<SandboxReplicaSet>;
  /** With index BY_NAMESPACE. */
  sandboxes: Store<Sandbox>;
  /** With index ROUTES_BY_DEPLOYMENT. */
  routes: Store<SandboxRoute>;
}

export class DeploymentReconciler {
  readonly #options: DeploymentReconcilerOptions;

  constructor(options: DeploymentReconcilerOptions) {
    this.#options = options;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const deployment = this.#options.deployments.get(key);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    if (deployment.metadata.annotations?.[ROLLBACK_TO_ANNOTATION] !== undefined) {
      await this.#rollback(deployment);
      return;
    }
    const all = await this.#observe(deployment);
    const shares = routedRevisions(this.#routesOf(deployment));
    const { newRS, oldRSs: unpinned, routedTwin } = this.#splitRevisions(deployment, all, shares);
    const oldRSs = unpinned.filter((rs) => !shares.has(revisionOf(rs)));
    const pinned = unpinned.filter((rs) => shares.has(revisionOf(rs)));
    const now = Date.now();
    const awakeUntil = (revision: number) =>
      tagAwakeUntil(
        Boolean(deployment.spec.autoscaling),
        deployment.metadata.annotations?.[revisionUsedAnnotation(revision)],
        (deployment.spec.autoscaling?.scaleToZeroGraceSeconds ??
          AUTOSCALING_DEFAULTS.scaleToZeroGraceSeconds) * 1000,
      );
    // A tag-only revision put to sleep must be looked at again when its grace ends.
    const wakeUps = pinned
      .filter((rs) => isTagOnly(shares.get(revisionOf(rs))))
      .map((rs) => awakeUntil(revisionOf(rs)))
      .filter((until) => until > now && until !== Infinity);
    const tagAwake = (revision: number) => awakeUntil(revision) > now;

    let current = newRS;
    let actions: ScaleAction[] = [];
    // The rollout works on the newest revision's share; the routed ones get theirs below.
    const replicas = deployment.spec.replicas ?? WORKLOAD_DEFAULTS.replicas;
    const rollout = this.#withReplicas(
      deployment,
      newestRevisionReplicas(
        replicas,
        this.#hasDefaultRoute(deployment),
        shares.get(newRS ? revisionOf(newRS) : maxRevision(unpinned) + 1),
      ),
    );
    if (!deployment.spec.paused) {
      current = await this.#ensureNewReplicaSet(
        rollout,
        newRS,
        oldRSs,
        maxRevision(unpinned),
        routedTwin,
      );
      actions = this.#plan(rollout, current, oldRSs);
      await this.#scale(deployment, [current, ...oldRSs], actions);
      actions.push(...(await this.#scaleRouted(deployment, pinned, replicas, shares, tagAwake)));
      const all = [current, ...oldRSs];
      const counts = {
        updatedReplicas: current.status?.replicas ?? 0,
        replicas: all.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0),
        availableReplicas: all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0),
      };
      if (actions.length === 0 && rolloutComplete(rollout, counts))
        await this.#cleanupHistory(deployment, oldRSs);
    } else if (newRS && oldRSs.every((rs) => (rs.spec.replicas ?? 0) === 0)) {
      // Paused: no new revision rolls out, but scaling still works.
      actions =
        newRS.spec.replicas === rollout.spec.replicas
          ? []
          : [
              {
                name: newRS.metadata.name!,
                from: newRS.spec.replicas ?? 0,
                to: rollout.spec.replicas ?? 1,
              },
            ];
      await this.#scale(deployment, [newRS], actions);
      actions.push(...(await this.#scaleRouted(deployment, pinned, replicas, shares, tagAwake)));
    }
    const result = await this.#recordStatus(
      rollout,
      current,
      current ? [current, ...oldRSs] : oldRSs,
      actions.length > 0 || current !== newRS,
    );
    return soonest(result, wakeUps.length > 0 ? Math.min(...wakeUps) - now : undefined);
  }

  #routesOf(deployment: SandboxDeployment): SandboxRoute[] {
    return this.#options.routes.byIndex(ROUTES_BY_DEPLOYMENT, cacheKey(deployment));
  }

  /** A SandboxRoute named like the deployment splits its unqualified traffic. */
  #hasDefaultRoute(deployment: SandboxDeployment): boolean {
    return this.#routesOf(deployment).some((r) => r.metadata.name === deployment.metadata.name);
  }

  /** The deployment as the rollout of its newest revision sees it: aiming for `replicas`. */
  #withReplicas(deployment: SandboxDeployment, replicas: number): SandboxDeployment {
    if (replicas === deployment.spec.replicas) return deployment;
    return { ...deployment, spec: { ...deployment.spec, replicas } };
  }

  /** Scales each routed revision other than the newest to its share of `replicas`. */
  async #scaleRouted(
    deployment: SandboxDeployment,
    pinned: SandboxReplicaSet[],
    replicas: number,
    shares: Map<number, RevisionShare>,
    tagAwake: (revision: number) => boolean,
  ): Promise<ScaleAction[]> {
    const actions = pinned
      .map((rs) => ({
        name: rs.metadata.name!,
        from: rs.spec.replicas ?? 0,
        to: replicasForShare(replicas, shares.get(revisionOf(rs)), tagAwake(revisionOf(rs))),
      }))
      .filter((a) => a.from !== a.to);
    await this.#scale(deployment, pinned, actions);
    return actions;
  }

  /** Copies the target revision's template into the spec and drops the annotation, in one write. */
  async #rollback(deployment: SandboxDeployment): Promise<void> {
    const { client, recorder } = this.#options;
    const requested = deployment.metadata.annotations![ROLLBACK_TO_ANNOTATION]!;
    const to = Number(requested);
    const owned = await this.#observe(deployment);
    const target = Number.isInteger(to) && to >= 0 ? rollbackTarget(owned, to) : undefined;
    const { [ROLLBACK_TO_ANNOTATION]: _, ...annotations } = deployment.metadata.annotations!;
    const next: SandboxDeployment = {
      ...deployment,
      metadata: { ...deployment.metadata, annotations },
    };
    if (!target) {
      recorder.warning(
        deployment,
        'RollbackRevisionNotFound',
        to === 0
          ? 'Unable to find last revision.'
          : `Unable to find the revision to roll back to: ${requested}.`,
      );
    } else if (sameTemplate(target.spec.template, normalizedTemplate(deployment))) {
      recorder.warning(
        deployment,
        'RollbackTemplateUnchanged',
        `The rollback revision contains the same template as the current deployment "${deployment.metadata.name}".`,
      );
    } else {
      next.spec = { ...deployment.spec, template: withoutHashLabel(target.spec.template) };
      recorder.normal(
        deployment,
        'RollbackDone',
        `Rolled back deployment "${deployment.metadata.name}" to revision ${revisionOf(target)}`,
      );
    }
    // A replace carries the resourceVersion: a concurrent edit makes it fail and retry.
    await client.replace(SandboxDeployments, next);
  }

  async #observe(deployment: SandboxDeployment): Promise<SandboxReplicaSet[]> {
    const candidates = this.#options.replicaSets.byIndex(
      BY_NAMESPACE,
      deployment.metadata.namespace!,
    );
    const owned = await claimChildren({
      client: this.#options.client,
      owner: deployment,
      ownerType: SandboxDeployments,
      childType: SandboxReplicaSets,
      selector: deploymentSelector(deployment),
      children: candidates,
    });
    return owned.filter((rs) => !rs.metadata.deletionTimestamp);
  }

  /**
   * The ReplicaSet of the current template, if there is one to reuse, and the
   * others. A revision a route names keeps its number, so it is reused only
   * while it is the newest: a rollback to its template is then a new
   * revision (routedTwin says one exists), as a Knative revision never
   * changes, rather than that revision renumbered under the route.
   */
  #splitRevisions(
    deployment: SandboxDeployment,
    all: SandboxReplicaSet[],
    shares: ReadonlyMap<number, unknown>,
  ): { newRS: SandboxReplicaSet | undefined; oldRSs: SandboxReplicaSet[]; routedTwin: boolean } {
    const template = normalizedTemplate(deployment);
    const newest = maxRevision(all);
    const matching = all.filter((rs) => sameTemplate(rs.spec.template, template));
    const reusable = matching
      .filter((rs) => !shares.has(revisionOf(rs)) || revisionOf(rs) === newest)
      // The newest, if (after a collision or a rollback past a route) there are two.
      .sort((a, b) => revisionOf(b) - revisionOf(a));
    const newRS = reusable[0];
    return {
      newRS,
      oldRSs: all.filter((rs) => rs !== newRS),
      routedTwin: !newRS && matching.length > 0,
    };
  }

  async #ensureNewReplicaSet(
    deployment: SandboxDeployment,
    newRS: SandboxReplicaSet | undefined,
    oldRSs: SandboxReplicaSet[],
    /** The highest revision number of every other ReplicaSet, routed ones included. */
    newestOther: number,
    /** A routed older revision has this template: the new one needs a name of its own. */
    routedTwin = false,
  ): Promise<SandboxReplicaSet> {
    const { client, recorder } = this.#options;
    const revision = newestOther + 1;
    if (newRS) {
      // A reused older revision (a rollback) becomes the newest again.
      if (
        revisionOf(newRS) >= revision &&
        newRS.spec.minReadySeconds === (deployment.spec.minReadySeconds ?? 0)
      )
        return newRS;
      return client.patch(SandboxReplicaSets, keyOf(newRS), {
        metadata: {
          annotations: { [REVISION_ANNOTATION]: String(Math.max(revision, revisionOf(newRS))) },
        },
        spec: { minReadySeconds: deployment.spec.minReadySeconds ?? 0 },
      });
    }
    const collisionCount = deployment.status?.collisionCount ?? 0;
    const hash = templateHash(
      normalizedTemplate(deployment),
      collisionCount,
      routedTwin ? revision : undefined,
    );
    const replicas =
      deployment.spec.strategy?.type === 'Recreate'
        ? 0
        : newReplicaSetReplicas(deployment, oldRSs, 0);
    const wanted = makeReplicaSet(deployment, { hash, revision, replicas });
    try {
      const created = await client.create(SandboxReplicaSets, wanted);
      recorder.normal(
        deployment,
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`,
      );
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await client.get(SandboxReplicaSets, keyOf(wanted));
      if (
        controllerRefOf(existing)?.uid === deployment.metadata.uid &&
        sameTemplate(existing.spec.template, wanted.spec.template)
      )
        return existing;
      // Its name is taken by something else: the next hash will differ.
      await client.patch(
        SandboxDeployments,
        keyOf(deployment),
        { status: { collisionCount: collisionCount + 1 } },
        { subresource: 'status' },
      );
      throw new NameCollisionError('SandboxReplicaSet', wanted.metadata.name!, { cause: err });
    }
  }

  #plan(
    deployment: SandboxDeployment,
    newRS: SandboxReplicaSet,
    oldRSs: SandboxReplicaSet[],
  ): ScaleAction[] {
    if (deployment.spec.strategy?.type === 'Recreate') {
      const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
      const left = this.#options.sandboxes
        .byIndex(BY_NAMESPACE, deployment.metadata.namespace!)
        .filter((s) => oldUids.has(controllerRefOf(s)?.uid)).length;
      return planRecreate(deployment, newRS, oldRSs, left);
    }
    return planRollingUpdate(deployment, newRS, oldRSs);
  }

  async #scale(
    deployment: SandboxDeployment,
    replicaSets: SandboxReplicaSet[],
    actions: ScaleAction[],
  ): Promise<void> {
    const { client, recorder } = this.#options;
    for (const action of actions) {
      const rs = replicaSets.find((r) => r.metadata.name === action.name)!;
      await client.patch(SandboxReplicaSets, keyOf(rs), { spec: { replicas: action.to } });
      rs.spec = { ...rs.spec, replicas: action.to };
      recorder.normal(
        deployment,
        'ScalingReplicaSet',
        `Scaled ${action.to > action.from ? 'up' : 'down'} replica set ${action.name} from ${action.from} to ${action.to}`,
      );
    }
  }

  /** Deletes the oldest empty revisions beyond revisionHistoryLimit. */
  async #cleanupHistory(deployment: SandboxDeployment, oldRSs: SandboxReplicaSet[]): Promise<void> {
    const limit = deployment.spec.revisionHistoryLimit ?? WORKLOAD_DEFAULTS.revisionHistoryLimit;
    const empty = oldRSs
      .filter((rs) => (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      try {
        await this.#options.client.delete(SandboxReplicaSets, keyOf(rs), {
          preconditions: { uid: rs.metadata.uid },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  async #recordStatus(
    deployment: SandboxDeployment,
    newRS: SandboxReplicaSet | undefined,
    all: SandboxReplicaSet[],
    acted: boolean,
  ): Promise<ReconcileResult | void> {
    const { client, recorder } = this.#options;
    const { status, transition, requeueAfterMs } = computeDeploymentStatus({
      deployment,
      newRS,
      all,
      acted,
      now: Date.now(),
    });
    if (transition === 'RolloutComplete')
      recorder.normal(
        deployment,
        'RolloutComplete',
        `Deployment "${deployment.metadata.name}" rolled out revision ${status.revision} (${status.ready} ready).`,
      );
    if (transition === 'ProgressDeadlineExceeded')
      recorder.warning(
        deployment,
        'ProgressDeadlineExceeded',
        `Deployment "${deployment.metadata.name}" has timed out progressing: ${status.ready} ready, ${status.updatedReplicas} up to date.`,
      );
    if (!sameStatus(deployment.status ?? {}, status)) {
      try {
        await client.patch(
          SandboxDeployments,
          splitKey(cacheKey(deployment)),
          { status },
          { subresource: 'status' },
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }
}

/** The sooner of a result's requeue and `afterMs`. */
function soonest(
  result: ReconcileResult | void,
  afterMs: number | undefined,
): ReconcileResult | void {
  if (afterMs === undefined) return result;
  const requeueAfterMs = Math.min(result?.requeueAfterMs ?? Infinity, Math.max(1, afterMs));
  return { ...result, requeueAfterMs };
}
