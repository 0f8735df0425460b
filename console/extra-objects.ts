// Routes and triggers as the function page shows them: which function each
// belongs to, a one-line summary a person reads (not the spec as JSON), the
// Ready-style condition, and for a route the split to draw. Kinds this file
// does not know yet are shown by their spec's target and conditions alone.
import type { Condition } from '../kube/api/meta.ts';
import type { KubeObject } from '../kube/api/meta.ts';
import type { CronTrigger, SandboxRoute } from '../kube/api/roost.ts';
import type { ExtraObjectView } from './view-types.ts';

type Loose = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export function extraObjectView(kind: string, object: KubeObject): ExtraObjectView {
  const base = {
    kind,
    namespace: object.metadata.namespace!,
    name: object.metadata.name!,
  };
  switch (kind) {
    case 'SandboxRoute':
      return { ...base, ...routeView(object as SandboxRoute) };
    case 'CronTrigger':
      return { ...base, ...cronView(object as CronTrigger) };
    case 'QueueTrigger':
      return { ...base, ...queueView(object as Loose) };
    default:
      return { ...base, ...genericView(object as Loose) };
  }
}

function routeView(route: SandboxRoute): Omit<ExtraObjectView, 'kind' | 'namespace' | 'name'> {
  const isDefault = route.metadata.name === route.spec.deployment;
  const canary = route.status?.canary;
  const parts = [
    isDefault ? 'default route' : `alias @${route.metadata.name}`,
    route.status?.traffic ? `traffic ${route.status.traffic}` : 'not resolved yet',
    canary?.phase
      ? `canary ${canary.phase}${canary.step !== undefined ? ` (step ${canary.step + 1})` : ''}`
      : '',
  ];
  return {
    function: route.spec.deployment,
    summary: parts.filter(Boolean).join(' · '),
    ...readiness(route.status?.conditions, 'Ready'),
    targets: route.spec.targets.map((t) => ({
      ...(t.latestRevision ? { latestRevision: true } : { revision: t.revision }),
      percent: t.percent ?? 0,
      ...(t.tag ? { tag: t.tag } : {}),
    })),
    split: (route.status?.targets ?? []).map((t) => ({
      revision: t.revision,
      percent: t.percent,
      ...(t.tag ? { tag: t.tag } : {}),
      ...(t.readySandboxes !== undefined ? { readySandboxes: t.readySandboxes } : {}),
    })),
  };
}

function cronView(trigger: CronTrigger): Omit<ExtraObjectView, 'kind' | 'namespace' | 'name'> {
  const { target, schedule, timeZone, suspend } = trigger.spec;
  const parts = [
    `${schedule}${timeZone ? ` (${timeZone})` : ''}`,
    `to ${target.name}${target.alias ? `@${target.alias}` : ''}`,
    suspend ? 'suspended' : '',
    trigger.status?.lastScheduleTime ? `last ${trigger.status.lastScheduleTime}` : 'not run yet',
    trigger.status?.nextScheduleTime ? `next ${trigger.status.nextScheduleTime}` : '',
  ];
  return {
    function: target.name,
    summary: parts.filter(Boolean).join(' · '),
    ...readiness(trigger.status?.conditions, 'Scheduled'),
  };
}

function queueView(trigger: Loose): Omit<ExtraObjectView, 'kind' | 'namespace' | 'name'> {
  const source = (trigger.spec?.source ?? {}) as Record<string, Record<string, unknown>>;
  const [broker, settings] = Object.entries(source)[0] ?? ['', {}];
  const queue = settings?.queue ?? settings?.stream ?? settings?.subject ?? settings?.topic;
  const lag = trigger.status?.lag;
  const parts = [
    broker ? `${broker}${queue ? ` ${String(queue)}` : ''}` : '',
    `to ${targetName(trigger)}`,
    typeof lag === 'number' ? `lag ${lag}` : '',
    trigger.spec?.enabled === false ? 'disabled' : '',
  ];
  return {
    function: targetName(trigger),
    summary: parts.filter(Boolean).join(' · '),
    ...readiness(trigger.status?.conditions as Condition[] | undefined, 'Ready'),
  };
}

function genericView(object: Loose): Omit<ExtraObjectView, 'kind' | 'namespace' | 'name'> {
  return {
    function: targetName(object),
    summary: `to ${targetName(object)}`,
    ...readiness(object.status?.conditions as Condition[] | undefined, 'Ready'),
  };
}

function targetName(object: Loose): string {
  const target = (object.spec?.target ?? object.spec?.function ?? object.spec?.deployment) as
    string | { name?: string } | undefined;
  return typeof target === 'string' ? target : (target?.name ?? object.metadata.name!);
}

function readiness(
  conditions: Condition[] | undefined,
  type: string,
): Pick<ExtraObjectView, 'ready' | 'reason'> {
  const condition = conditions?.find((c) => c.type === type);
  if (!condition) return {};
  return {
    ready: condition.status === 'True',
    ...(condition.status === 'True' ? {} : { reason: `${condition.reason}: ${condition.message}` }),
  };
}
