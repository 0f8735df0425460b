// `roost traffic <name>`: how a function's traffic splits between its
// revisions (its default SandboxRoute, or --alias), with what each revision
// is doing: requests per second, errors and p99, from the sidecars' counts.
// `roost traffic set <name> 3=90 latest=10 [--tag canary=latest]` writes the
// split, creating the route if there is none.
import { Command, Option } from 'commander';
import type { SandboxRoute } from '../../kube/api/roost.ts';
import { SandboxReplicaSets, SandboxRoutes } from '../../kube/api/resources.ts';
import { isNotFound } from '../../kube/errors.ts';
import { DEPLOYMENT_LABEL } from '../../kube/well-known.ts';
import { sleep } from '../../lib/duration.ts';
import { CliContext, withCliContext, type GlobalFlags } from '../context.ts';
import {
  durationOption,
  OUTPUT_FORMATS,
  withClusterOptions,
  type OutputFormat,
} from '../options.ts';
import { formatMs, printResult } from '../output.ts';
import { revisionNumber } from '../revisions.ts';
import { collectSandboxStats } from '../sandbox-stats.ts';
import { requireDeployment, sandboxesOf } from '../sidecars.ts';
import type { SandboxStats } from '../stats-total.ts';
import { parseTrafficSpec } from '../traffic-spec.ts';

interface TrafficFlags extends GlobalFlags {
  alias?: string;
  window: number;
  output: OutputFormat;
}

interface SetFlags extends GlobalFlags {
  alias?: string;
  tag: string[];
  output: OutputFormat;
}

/** One revision's share and what it did over the window. */
export interface RevisionTraffic {
  revision: number;
  percent: number;
  tag: string | null;
  readySandboxes: number;
  /** Requests per second over the window; null without a window. */
  rate: number | null;
  /** Failed and timed-out invocations since its Sandboxes started. */
  errors: number;
  invocations: number;
  /** The largest of its Sandboxes' p99s (an upper bound). */
  p99Ms: number;
}

export function trafficCommand(): Command {
  const command = new Command('traffic')
    .description(
      "Show how a function's traffic splits between its revisions, with each revision's rate, errors and p99; `traffic set` changes it.",
    )
    .argument('<name>', 'the function (SandboxDeployment) name')
    .option(
      '--alias <alias>',
      'an alias (a SandboxRoute of another name) instead of the default route',
    )
    .addOption(
      new Option('--window <duration>', 'how long to watch for the request rate (0: none)')
        .argParser(durationOption)
        .default(2000, '2s'),
    )
    .addCommand(setCommand());
  return withClusterOptions(command, { output: OUTPUT_FORMATS, token: true }).action(
    (name: string, flags: TrafficFlags) =>
      withCliContext(flags, async (context) => {
        const result = await show(context, name, flags);
        printResult(flags.output, result, toTable);
        if (flags.output === 'table' && result.canary?.phase)
          process.stdout.write(
            `canary: ${result.canary.phase}, revision ${result.canary.revision} (stable ${result.canary.stableRevision}): ${result.canary.message ?? ''}\n`,
          );
        if (flags.output === 'table' && !result.route)
          process.stderr.write(
            `${name} has no SandboxRoute: its newest revision takes all traffic\n`,
          );
      }),
  );
}

function setCommand(): Command {
  const command = new Command('set')
    .description('Split the traffic: `roost traffic set hello 3=90 latest=10 --tag canary=latest`.')
    .argument('<name>', 'the function (SandboxDeployment) name')
    .argument(
      '<split...>',
      '<revision>=<percent>, a revision number or "latest"; they add up to 100',
    )
    .option(
      '--alias <alias>',
      'set an alias (a SandboxRoute of that name) instead of the default route',
    )
    .option(
      '--tag <tag=revision>',
      'also answer /fn/<ns>/<name>@<tag> with that revision (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
      [],
    );
  return withClusterOptions(command, { output: OUTPUT_FORMATS }).action(
    // The parent `traffic` takes the same cluster flags: they may land on it.
    (name: string, split: string[], _flags: SetFlags, self: Command) =>
      withCliContext(self.optsWithGlobals<SetFlags>(), async (context) => {
        const flags = self.optsWithGlobals<SetFlags>();
        const targets = parseTrafficSpec(split, flags.tag);
        const route = await setTraffic(context, name, flags.alias, targets);
        const written = `${route.metadata.namespace}/${route.metadata.name}`;
        if (flags.output === 'json' || flags.output === 'yaml')
          printResult(flags.output, route, () => ({ headers: [], rows: [] }));
        else
          process.stdout.write(
            `sandboxroute ${written} set: ${split.join(' ')}${flags.tag.map((t) => ` --tag ${t}`).join('')}\n`,
          );
      }),
  );
}

async function setTraffic(
  context: CliContext,
  name: string,
  alias: string | undefined,
  targets: SandboxRoute['spec']['targets'],
): Promise<SandboxRoute> {
  const { client, namespace } = context;
  await requireDeployment(client, namespace, name);
  const key = { namespace, name: alias ?? name };
  try {
    return await client.patch(SandboxRoutes, key, { spec: { targets } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return client.create(SandboxRoutes, {
      metadata: key,
      spec: { deployment: name, targets },
    });
  }
}

async function show(context: CliContext, name: string, flags: TrafficFlags) {
  const { client, namespace } = context;
  const deployment = await requireDeployment(client, namespace, name);
  const routeName = flags.alias ?? name;
  let route: SandboxRoute | undefined;
  try {
    route = await client.get(SandboxRoutes, { namespace, name: routeName });
  } catch (err) {
    if (!isNotFound(err) || flags.alias) throw err;
  }
  const split = route?.status?.targets?.map((t) => ({
    revision: t.revision,
    percent: t.percent,
    tag: t.tag ?? null,
  })) ?? [{ revision: deployment.status?.revision ?? 0, percent: 100, tag: null }];

  // Which revision each Sandbox runs: its ReplicaSet's number.
  const replicaSets = await client.list(SandboxReplicaSets, {
    namespace,
    labelSelector: `${DEPLOYMENT_LABEL}=${name}`,
  });
  const revisionOfSet = new Map(
    replicaSets.items.map((rs) => [rs.metadata.name!, revisionNumber(rs)]),
  );
  const sandboxes = await sandboxesOf(client, namespace, name);
  const revisionOfSandbox = new Map(
    sandboxes.map((s) => [
      s.metadata.name!,
      revisionOfSet.get(s.metadata.ownerReferences?.find((r) => r.controller)?.name ?? '') ?? 0,
    ]),
  );
  const before = await collectSandboxStats(context, name);
  let after = before;
  if (flags.window > 0) {
    await sleep(flags.window);
    after = await collectSandboxStats(context, name);
  }
  const invocationsBefore = new Map(before.map((s) => [s.sandbox, s.invocations]));
  const revisions: RevisionTraffic[] = split.map((t) => {
    const of = after.filter((s: SandboxStats) => revisionOfSandbox.get(s.sandbox) === t.revision);
    const inWindow = of.reduce(
      (n, s) => n + s.invocations - (invocationsBefore.get(s.sandbox) ?? 0),
      0,
    );
    return {
      ...t,
      readySandboxes:
        route?.status?.targets?.find((r) => r.revision === t.revision)?.readySandboxes ??
        deployment.status?.readyReplicas ??
        0,
      rate: flags.window > 0 ? inWindow / (flags.window / 1000) : null,
      errors: of.reduce((n, s) => n + s.errors + s.timeouts, 0),
      invocations: of.reduce((n, s) => n + s.invocations, 0),
      p99Ms: Math.max(0, ...of.map((s) => s.p99Ms)),
    };
  });
  return {
    namespace,
    name,
    route: route?.metadata.name ?? null,
    ready: route?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? null,
    canary: route?.status?.canary ?? null,
    revisions,
  };
}

function toTable(result: Awaited<ReturnType<typeof show>>) {
  return {
    headers: ['revision', 'percent', 'tag', 'ready', 'rate', 'errors', 'p99'],
    rows: result.revisions.map((r) => [
      String(r.revision),
      `${r.percent}%`,
      r.tag ?? '',
      String(r.readySandboxes),
      r.rate === null ? '-' : `${r.rate.toFixed(1)}/s`,
      `${r.errors}/${r.invocations}`,
      r.invocations > 0 ? formatMs(r.p99Ms) : '-',
    ]),
  };
}
