// `roost rollout history|undo|promote|abort <name>`: a function's revisions,
// going back to one, and deciding a canary now (promote: the new revision
// takes all traffic; abort: traffic goes back to the stable one). Undo works as `kubectl rollout undo` does for a Deployment: it asks
// the controller, through the annotation roost.dev/rollback-to, to copy that
// revision's template back, then waits for the rollout like `roost deploy`.
import { Command } from 'commander';
import type { SandboxDeployment, SandboxRoute } from '../../kube/api/roost.ts';
import { SandboxDeployments, SandboxReplicaSets, SandboxRoutes } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import {
  CANARY_ACTION_ANNOTATION,
  DEPLOYMENT_LABEL,
  ROLLBACK_TO_ANNOTATION,
} from '../../kube/well-known.ts';
import { sleep } from '../../lib/duration.ts';
import { CliContext, withCliContext, type GlobalFlags } from '../context.ts';
import { failure, notFoundError } from '../errors.ts';
import {
  integerOption,
  waitTimeoutOption,
  OUTPUT_FORMATS,
  withClusterOptions,
  type OutputFormat,
} from '../options.ts';
import { formatAge, formatData, printResult } from '../output.ts';
import { revisionsOf, type Revision } from '../revisions.ts';
import { requireDeployment } from '../sidecars.ts';
import { waitForRollout } from '../wait-rollout.ts';

interface HistoryFlags extends GlobalFlags {
  output: OutputFormat;
}

interface UndoFlags extends GlobalFlags {
  toRevision?: number;
  wait: boolean;
  waitTimeout: number;
  output: OutputFormat;
}

export function rolloutCommand(): Command {
  return new Command('rollout')
    .description(
      "Show a function's revisions, roll it back to one, or promote or abort its canary.",
    )
    .addCommand(historyCommand())
    .addCommand(undoCommand())
    .addCommand(canaryActionCommand('promote'))
    .addCommand(canaryActionCommand('abort'));
}

function historyCommand(): Command {
  const command = new Command('history')
    .description('List the revisions of a function (one per template it has had).')
    .argument('<name>', 'the function (SandboxDeployment) name');
  return withClusterOptions(command, { output: OUTPUT_FORMATS }).action(
    (name: string, flags: HistoryFlags) =>
      withCliContext(flags, async (context) => {
        const { deployment, revisions } = await load(context.client, context.namespace, name);
        printResult(
          flags.output,
          { namespace: deployment.metadata.namespace, name, revisions },
          () => historyTable(revisions),
        );
      }),
  );
}

function undoCommand(): Command {
  const command = new Command('undo')
    .description('Roll a function back to its previous revision, or to --to-revision.')
    .argument('<name>', 'the function (SandboxDeployment) name')
    .option(
      '--to-revision <n>',
      'the revision to return to (default: the previous one)',
      integerOption('--to-revision', 1),
    )
    .option('--no-wait', 'return once the controller has rolled back the template')
    .addOption(waitTimeoutOption());
  return withClusterOptions(command, { output: OUTPUT_FORMATS }).action(
    (name: string, flags: UndoFlags) =>
      withCliContext(flags, (context) => undo(context, name, flags)),
  );
}

function canaryActionCommand(action: 'promote' | 'abort'): Command {
  const command = new Command(action)
    .description(
      action === 'promote'
        ? "Send all of a function's traffic to its canary revision now, skipping the remaining steps."
        : "Stop a function's canary and send its traffic back to the stable revision.",
    )
    .argument(
      '<name>',
      'the function (SandboxDeployment) name; its default SandboxRoute carries the canary',
    )
    .addOption(waitTimeoutOption());
  return withClusterOptions(command, { output: OUTPUT_FORMATS }).action(
    (name: string, flags: UndoFlags) =>
      withCliContext(flags, (context) => decideCanary(context, name, action, flags)),
  );
}

/** Asks the route controller, through roost.dev/canary-action, to promote or abort; waits until it has. */
async function decideCanary(
  context: CliContext,
  name: string,
  action: 'promote' | 'abort',
  flags: UndoFlags,
): Promise<void> {
  const { client, namespace } = context;
  await requireDeployment(client, namespace, name);
  let route: SandboxRoute;
  try {
    route = await client.get(SandboxRoutes, { namespace, name });
  } catch (err) {
    if (isNotFound(err))
      throw notFoundError(
        `${namespace}/${name} has no SandboxRoute named ${name}, so no canary: a route with spec.canary makes one`,
      );
    throw err;
  }
  if (!route.spec.canary)
    throw failure(
      'ROOST_NO_CANARY',
      `SandboxRoute ${namespace}/${name} has no canary policy (spec.canary)`,
    );
  const canary = route.status?.canary;
  if (action === 'abort' && canary?.phase !== 'Progressing')
    throw failure(
      'ROOST_NO_CANARY',
      `${namespace}/${name} has no canary in progress to abort${canary?.phase ? ` (the last one was ${canary.phase})` : ''}`,
    );
  if (action === 'promote' && (!canary || canary.phase === 'Promoted'))
    throw failure('ROOST_NO_CANARY', `${namespace}/${name} has no canary revision to promote`);
  await client.patch(
    SandboxRoutes,
    { namespace, name },
    { metadata: { annotations: { [CANARY_ACTION_ANNOTATION]: action } } },
  );
  const wanted = action === 'promote' ? 'Promoted' : 'RolledBack';
  const deadline = Date.now() + flags.waitTimeout;
  for (;;) {
    const now = await client.get(SandboxRoutes, { namespace, name });
    if (
      now.status?.canary?.phase === wanted &&
      now.metadata.annotations?.[CANARY_ACTION_ANNOTATION] === undefined
    ) {
      const result = {
        namespace,
        name,
        phase: wanted,
        revision: now.status.canary.revision ?? null,
        stableRevision: now.status.canary.stableRevision ?? null,
        traffic: now.status.traffic ?? '',
      };
      if (flags.output === 'json' || flags.output === 'yaml')
        process.stdout.write(formatData(flags.output, result));
      else
        process.stdout.write(
          `${namespace}/${name}: canary ${action === 'promote' ? 'promoted' : 'aborted'}; traffic ${result.traffic}\n`,
        );
      return;
    }
    if (Date.now() > deadline)
      throw failure(
        'ROOST_CANARY_TIMEOUT',
        `No controller acted on ${CANARY_ACTION_ANNOTATION} of ${namespace}/${name} within ${Math.round(flags.waitTimeout / 1000)} s: is \`roost controller\` running?`,
      );
    await sleep(200);
  }
}

async function load(client: KubeClient, namespace: string, name: string) {
  const deployment = await requireDeployment(client, namespace, name);
  const replicaSets = await client.list(SandboxReplicaSets, {
    namespace,
    labelSelector: `${DEPLOYMENT_LABEL}=${name}`,
  });
  return { deployment, revisions: revisionsOf(deployment, replicaSets.items) };
}

async function undo(context: CliContext, name: string, flags: UndoFlags): Promise<void> {
  const { client, namespace } = context;
  const { deployment, revisions } = await load(client, namespace, name);
  const target = chooseTarget(revisions, flags.toRevision, `${namespace}/${name}`);
  const note = (line: string) => process.stderr.write(`${line}\n`);
  if (target.current) {
    // kubectl says the same: "skipped rollback (current template already matches revision N)".
    report(flags.output, {
      namespace,
      name,
      to: target.revision,
      revision: target.revision,
      rolledBack: false,
      message: `already at the template of revision ${target.revision}; nothing to do`,
    });
    return;
  }

  await client.patch(
    SandboxDeployments,
    { namespace, name },
    {
      metadata: { annotations: { [ROLLBACK_TO_ANNOTATION]: String(target.revision) } },
    },
  );
  note(`Asked the controller to roll ${name} back to revision ${target.revision}`);
  await waitForControllerRollback(client, deployment, flags.waitTimeout);

  let revision: number | null = null;
  let message = `rolled back to the template of revision ${target.revision}`;
  if (flags.wait) {
    const done = await waitForRollout(
      client,
      { namespace, name },
      {
        timeoutMs: flags.waitTimeout,
        onProgress: note,
      },
    );
    revision = done.deployment.status?.revision ?? null;
    message = `${message}; ${done.message}`;
  }
  report(flags.output, {
    namespace,
    name,
    to: target.revision,
    revision,
    rolledBack: true,
    message,
  });
}

function chooseTarget(revisions: Revision[], to: number | undefined, what: string): Revision {
  const known = revisions.map((r) => r.revision).join(', ') || 'none';
  if (to !== undefined) {
    const found = revisions.find((r) => r.revision === to);
    if (!found)
      throw notFoundError(
        `${what} has no revision ${to} (it has: ${known}); \`roost rollout history\` lists them`,
      );
    return found;
  }
  // The previous one: the newest revision that is not the current template.
  const previous = revisions.filter((r) => !r.current).at(-1);
  if (!previous)
    throw notFoundError(`${what} has no previous revision to roll back to (it has: ${known})`);
  return previous;
}

/**
 * The controller takes the annotation away in the same write that copies the
 * template back; if the template did not change, it refused (and recorded a
 * warning Event saying why).
 */
async function waitForControllerRollback(
  client: KubeClient,
  before: SandboxDeployment,
  timeoutMs: number,
): Promise<void> {
  const key = { namespace: before.metadata.namespace, name: before.metadata.name! };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await client.get(SandboxDeployments, key);
    if (now.metadata.annotations?.[ROLLBACK_TO_ANNOTATION] === undefined) {
      if ((now.metadata.generation ?? 0) > (before.metadata.generation ?? 0)) return;
      throw failure(
        'ROOST_ROLLBACK_REFUSED',
        `The controller did not roll ${key.name} back; \`kubectl describe sbxdeploy ${key.name} -n ${key.namespace}\` shows why`,
      );
    }
    if (Date.now() > deadline)
      throw failure(
        'ROOST_ROLLBACK_TIMEOUT',
        `No controller acted on ${ROLLBACK_TO_ANNOTATION} of ${key.namespace}/${key.name} within ${Math.round(timeoutMs / 1000)} s: is \`roost controller\` running?`,
      );
    await sleep(300);
  }
}

interface UndoResult {
  namespace: string;
  name: string;
  to: number;
  /** The revision number the rolled-back template has now (a rollback makes it the newest). */
  revision: number | null;
  rolledBack: boolean;
  message: string;
}

function report(format: OutputFormat, result: UndoResult): void {
  if (format === 'json' || format === 'yaml') process.stdout.write(formatData(format, result));
  else
    process.stdout.write(
      `${result.namespace}/${result.name}: ${result.message}${result.revision ? ` (now revision ${result.revision})` : ''}\n`,
    );
}

function historyTable(revisions: Revision[]) {
  return {
    headers: [
      'revision',
      'current',
      'template-hash',
      'runtime',
      'handler',
      'code',
      'sandboxes',
      'created',
    ],
    rows: revisions.map((r) => [
      String(r.revision),
      r.current ? '*' : '',
      r.templateHash,
      r.runtime,
      r.handler,
      r.code,
      String(r.replicas),
      formatAge(r.created),
    ]),
  };
}
