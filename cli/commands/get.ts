// `roost get deployments|sandboxes|hosts|triggers`: tables that read like kubectl's,
// or the objects as JSON or YAML. Host pods are like Nodes: listed across
// every namespace unless -n names one.
import { Command } from 'commander';
import type { Lease } from '../../kube/api/core.ts';
import type {
  CronTrigger,
  QueueTrigger,
  Sandbox,
  SandboxDeployment,
} from '../../kube/api/roost.ts';
import {
  CronTriggers,
  Leases,
  QueueTriggers,
  SandboxDeployments,
  Sandboxes,
} from '../../kube/api/resources.ts';
import { isNotFound } from '../../kube/errors.ts';
import { DEPLOYMENT_LABEL, TEMPLATE_HASH_LABEL } from '../../kube/well-known.ts';
import { CliContext, withCliContext, type GlobalFlags } from '../context.ts';
import { summarizeHosts, type HostSummary } from '../../scheduler/host-summary.ts';
import { withClusterOptions, type OutputFormat } from '../options.ts';
import { formatAge, kubeList, printResult } from '../output.ts';
import { listHostPods } from '../sidecars.ts';
import { AUTOSCALING_DEFAULTS } from '../../kube/api/defaults.ts';

interface GetFlags extends GlobalFlags {
  output: OutputFormat;
  allNamespaces?: boolean;
  deployment?: string;
}

const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;

export function getCommand(): Command {
  return new Command('get')
    .description('List deployments, sandboxes, host pods or triggers.')
    .addCommand(deploymentsCommand())
    .addCommand(sandboxesCommand())
    .addCommand(hostsCommand())
    .addCommand(triggersCommand());
}

function deploymentsCommand(): Command {
  const command = new Command('deployments')
    .aliases(['deployment', 'deploy', 'sbxdeploy'])
    .description('Functions (SandboxDeployments): readiness, revision, runtime and scale.')
    .option('-A, --all-namespaces', 'in every namespace');
  return withClusterOptions(command, { output: FORMATS, gateway: true }).action((flags: GetFlags) =>
    withCliContext(flags, async (context) => {
      const namespace = flags.allNamespaces ? undefined : context.namespace;
      const list = await context.client.list(SandboxDeployments, { namespace });
      const items = list.items.sort(byNamespaceAndName);
      printResult(
        flags.output,
        kubeList(items),
        (_, wide) => deploymentTable(items, { wide, allNamespaces: !namespace, context }),
        `No functions in ${namespace ? `namespace ${namespace}` : 'any namespace'}; deploy one with \`roost deploy\``,
      );
    }),
  );
}

function sandboxesCommand(): Command {
  const command = new Command('sandboxes')
    .aliases(['sandbox', 'sbx'])
    .description('Function instances (Sandboxes): readiness, phase, restarts and host pod.')
    .option('-A, --all-namespaces', 'in every namespace')
    .option('--deployment <name>', "only this function's Sandboxes");
  return withClusterOptions(command, { output: FORMATS }).action((flags: GetFlags) =>
    withCliContext(flags, async (context) => {
      const namespace = flags.allNamespaces ? undefined : context.namespace;
      const list = await context.client.list(Sandboxes, {
        namespace,
        labelSelector: flags.deployment ? `${DEPLOYMENT_LABEL}=${flags.deployment}` : undefined,
      });
      const items = list.items.sort(byNamespaceAndName);
      printResult(
        flags.output,
        kubeList(items),
        (_, wide) => sandboxTable(items, { wide, allNamespaces: !namespace }),
        `No Sandboxes in ${namespace ? `namespace ${namespace}` : 'any namespace'}`,
      );
    }),
  );
}

function hostsCommand(): Command {
  const command = new Command('hosts')
    .aliases(['host'])
    .description(
      'Host pods: ready or why not, runtimes, the Sandboxes packed into each, and free capacity.',
    );
  return withClusterOptions(command, { output: FORMATS }).action((flags: GetFlags) =>
    withCliContext(flags, async (context) => {
      const { client } = context;
      const pods = (await listHostPods(client)).filter(
        (pod) => !flags.namespace || pod.metadata.namespace === flags.namespace,
      );
      const leases = new Map<string, Lease>();
      await Promise.all(
        pods.map(async (pod) => {
          try {
            const key = { namespace: pod.metadata.namespace, name: pod.metadata.name! };
            leases.set(`${key.namespace}/${key.name}`, await client.get(Leases, key));
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }),
      );
      // Sandboxes of any namespace may be packed into a host pod.
      const sandboxes = (await client.list(Sandboxes)).items;
      const hosts = summarizeHosts(
        pods,
        (pod) => leases.get(`${pod.metadata.namespace}/${pod.metadata.name}`),
        sandboxes,
      );
      printResult(
        flags.output,
        { hosts },
        (_, wide) => hostTable(hosts, wide),
        'No host pods (label roost.dev/host=true): start a local Roost with `roost dev`',
      );
    }),
  );
}

function triggersCommand(): Command {
  const command = new Command('triggers')
    .aliases(['trigger', 'crontriggers', 'cront', 'queuetriggers', 'queuet', 'qt'])
    .description(
      'Triggers: CronTriggers (schedule, target, last and next run), then QueueTriggers (source, queue, target, readiness, lag, counts).',
    )
    .option('-A, --all-namespaces', 'in every namespace');
  return withClusterOptions(command, { output: FORMATS }).action((flags: GetFlags) =>
    withCliContext(flags, async (context) => {
      const namespace = flags.allNamespaces ? undefined : context.namespace;
      const cron = (await context.client.list(CronTriggers, { namespace })).items.sort(
        byNamespaceAndName,
      );
      // A cluster without the QueueTrigger CRD (an older install) has none.
      const queue = (
        await context.client.list(QueueTriggers, { namespace }).catch((err: unknown) => {
          if (isNotFound(err)) return { items: [] as QueueTrigger[] };
          throw err;
        })
      ).items.sort(byNamespaceAndName);
      const empty = `No triggers in ${namespace ? `namespace ${namespace}` : 'any namespace'}`;
      const allNamespaces = !namespace;
      if (flags.output === 'json' || flags.output === 'yaml' || queue.length === 0) {
        printResult(
          flags.output,
          kubeList([...cron, ...queue]),
          (_, wide) => triggerTable(cron, { wide, allNamespaces }),
          empty,
        );
        return;
      }
      if (cron.length > 0) {
        printResult(flags.output, cron, (_, wide) => triggerTable(cron, { wide, allNamespaces }));
        process.stdout.write('\n');
      }
      printResult(flags.output, queue, (_, wide) =>
        queueTriggerTable(queue, { wide, allNamespaces }),
      );
    }),
  );
}

function queueTriggerTable(
  items: QueueTrigger[],
  options: { wide: boolean; allNamespaces: boolean },
) {
  const headers = [
    'name',
    'type',
    'source',
    'queue',
    'target',
    'ready',
    'lag',
    'delivered',
    'failed',
    'dead',
    'age',
  ];
  if (options.wide) headers.push('reason', 'last error');
  if (options.allNamespaces) headers.unshift('namespace');
  const now = Date.now();
  const rows = items.map((t) => {
    const status = t.status ?? {};
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    const { rabbitmq, nats } = t.spec.source;
    const row = [
      t.metadata.name!,
      'queue',
      rabbitmq ? 'rabbitmq' : 'nats',
      rabbitmq ? rabbitmq.queue : `${nats?.stream}/${nats?.subject ?? '>'}`,
      t.spec.target.name,
      ready?.status ?? 'Unknown',
      String(status.lag ?? '-'),
      String(status.delivered ?? 0),
      String(status.failed ?? 0),
      String(status.deadLettered ?? 0),
      formatAge(t.metadata.creationTimestamp, now),
    ];
    if (options.wide) row.push(ready?.reason ?? '-', status.lastError?.message ?? '-');
    if (options.allNamespaces) row.unshift(t.metadata.namespace ?? '');
    return row;
  });
  return { headers, rows };
}

function triggerTable(items: CronTrigger[], options: { wide: boolean; allNamespaces: boolean }) {
  const headers = [
    'name',
    'type',
    'schedule',
    'target',
    'suspend',
    'active',
    'last schedule',
    'next',
    'age',
  ];
  if (options.wide) headers.push('time zone', 'last success', 'last failure');
  if (options.allNamespaces) headers.unshift('namespace');
  const now = Date.now();
  const rows = items.map((t) => {
    const status = t.status ?? {};
    const next = status.nextScheduleTime;
    const row = [
      t.metadata.name!,
      'cron',
      t.spec.schedule,
      t.spec.target.name,
      String(t.spec.suspend ?? false),
      String(status.active?.length ?? 0),
      status.lastScheduleTime ? `${formatAge(status.lastScheduleTime, now)} ago` : '-',
      next ? `in ${formatAge(new Date(now).toISOString(), Math.max(now, Date.parse(next)))}` : '-',
      formatAge(t.metadata.creationTimestamp, now),
    ];
    if (options.wide)
      row.push(
        t.spec.timeZone ?? 'UTC',
        status.lastSuccessfulTime ?? '-',
        status.lastFailure ? `${status.lastFailure.time} ${status.lastFailure.reason}` : '-',
      );
    if (options.allNamespaces) row.unshift(t.metadata.namespace ?? '');
    return row;
  });
  return { headers, rows };
}

function deploymentTable(
  items: SandboxDeployment[],
  options: { wide: boolean; allNamespaces: boolean; context: CliContext },
) {
  const headers = [
    'name',
    'ready',
    'up-to-date',
    'available',
    'revision',
    'runtime',
    'scale',
    'age',
  ];
  if (options.wide) headers.push('handler', 'url');
  if (options.allNamespaces) headers.unshift('namespace');
  const rows = items.map((d) => {
    const fn = d.spec.template.spec.function;
    const auto = d.spec.autoscaling;
    const row = [
      d.metadata.name!,
      d.status?.ready ?? `0/${d.spec.replicas ?? 1}`,
      String(d.status?.updatedReplicas ?? 0),
      String(d.status?.availableReplicas ?? 0),
      String(d.status?.revision ?? '-'),
      fn.runtime,
      auto
        ? `${auto.minReplicas ?? AUTOSCALING_DEFAULTS.minReplicas}..${auto.maxReplicas ?? AUTOSCALING_DEFAULTS.maxReplicas} auto`
        : 'fixed',
      formatAge(d.metadata.creationTimestamp),
    ];
    if (options.wide)
      row.push(fn.handler, options.context.functionUrl(d.metadata.name!, d.metadata.namespace));
    if (options.allNamespaces) row.unshift(d.metadata.namespace ?? '');
    return row;
  });
  return { headers, rows };
}

function sandboxTable(items: Sandbox[], options: { wide: boolean; allNamespaces: boolean }) {
  const headers = ['name', 'ready', 'status', 'restarts', 'host', 'age'];
  if (options.wide) headers.push('address', 'template-hash', 'message');
  if (options.allNamespaces) headers.unshift('namespace');
  const rows = items.map((s) => {
    const ready = s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const row = [
      s.metadata.name!,
      ready ? '1/1' : '0/1',
      sandboxStatus(s),
      String(s.status?.restartCount ?? 0),
      s.spec.podName ?? '<none>',
      formatAge(s.metadata.creationTimestamp),
    ];
    if (options.wide)
      row.push(
        s.status?.address ?? '<none>',
        s.metadata.labels?.[TEMPLATE_HASH_LABEL] ?? '',
        s.status?.message ?? '',
      );
    if (options.allNamespaces) row.unshift(s.metadata.namespace ?? '');
    return row;
  });
  return { headers, rows };
}

/** What kubectl would show in STATUS: the phase, or what keeps the Sandbox from running. */
function sandboxStatus(sandbox: Sandbox): string {
  if (sandbox.metadata.deletionTimestamp) return 'Terminating';
  const status = sandbox.status ?? {};
  if (status.phase === 'Failed') return status.reason ?? 'Failed';
  const scheduled = status.conditions?.find((c) => c.type === 'Scheduled');
  if (scheduled?.status === 'False') return scheduled.reason;
  if (status.hibernated) return 'Hibernated';
  return status.phase ?? 'Pending';
}

function hostTable(hosts: HostSummary[], wide: boolean) {
  const headers = [
    'namespace',
    'name',
    'ready',
    'runtimes',
    'sandboxes',
    'memory free',
    'cpu free',
    'age',
  ];
  if (wide) headers.push('address', 'packed');
  const rows = hosts.map((h) => {
    const row = [
      h.namespace,
      h.name,
      h.ready ? 'True' : `False (${h.reason})`,
      h.runtimes.join(',') || '<none>',
      h.capacity.maxSandboxes === null
        ? String(h.sandboxes.length)
        : `${h.sandboxes.length}/${h.capacity.maxSandboxes}`,
      `${h.free.memoryMiB}/${h.capacity.memoryMiB}Mi`,
      h.capacity.cpuMillis === null ? '-' : `${h.free.cpuMillis}/${h.capacity.cpuMillis}m`,
      formatAge(h.creationTimestamp),
    ];
    if (wide) row.push(h.address ?? '<none>', h.sandboxes.join(',') || '<none>');
    return row;
  });
  return { headers, rows };
}

function byNamespaceAndName(
  a: { metadata: { namespace?: string; name?: string } },
  b: { metadata: { namespace?: string; name?: string } },
): number {
  return (
    (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')
  );
}
