// `roost deploy <dir|file> [--name <n>]`: pack the code, store it in an
// immutable ConfigMap named by its digest, declare the SandboxDeployment with
// server-side apply, and wait for it to roll out. In that order, so that no
// Sandbox ever looks for code that is not there yet, and nothing is written
// when the code cannot be shipped at all.
import { Command, Option } from 'commander';
import type { ConfigMap } from '../../kube/api/core.ts';
import type { Runtime, SandboxDeployment } from '../../kube/api/roost.ts';
import { ConfigMaps, SandboxDeployments, SandboxReplicaSets } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isAlreadyExists, isNotFound } from '../../kube/errors.ts';
import { CODE_SHA256_ANNOTATION, DEPLOYMENT_LABEL } from '../../kube/well-known.ts';
import { errorMessage } from '../../lib/errors.ts';
import {
  checkFitsConfigMap,
  checkNodeHandler,
  defaultFunctionName,
  detectRuntime,
  packCode,
  type CodePackage,
} from '../code-package.ts';
import { CliContext, type GlobalFlags } from '../context.ts';
import { failure, usageError } from '../errors.ts';
import {
  MANAGED_BY_CLI,
  MANAGED_BY_LABEL,
  makeCodeConfigMap,
  makeSandboxDeployment,
  referencedConfigMaps,
} from '../function-manifest.ts';
import {
  integerOption,
  keyValueOption,
  OUTPUT_FORMATS,
  waitTimeoutOption,
  withClusterOptions,
  type OutputFormat,
} from '../options.ts';
import { formatData } from '../output.ts';
import { waitForRollout } from '../wait-rollout.ts';

interface DeployFlags extends GlobalFlags {
  name?: string;
  runtime?: Runtime;
  handler?: string;
  memory?: number;
  timeout?: number;
  concurrency?: number;
  replicas?: number;
  min?: number;
  max?: number;
  env?: [string, string][];
  wait: boolean;
  waitTimeout: number;
  output: OutputFormat;
}

/** A Kubernetes name that also fits the roost.dev/deployment label value. */
const FUNCTION_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function deployCommand(): Command {
  const command = new Command('deploy')
    .description(
      'Deploy a function from a directory or file: Node.js code is packed into a .tgz, Java is the jar (a .jar or a built Maven project).',
    )
    .argument('<path>', 'a directory, a .js/.mjs/.cjs file, a .jar, or a Maven project directory')
    .option(
      '--name <name>',
      "the function (SandboxDeployment) name (default: package.json's name, else the directory's or file's)",
    )
    .addOption(
      new Option('--runtime <runtime>', 'default: from the files').choices(['nodejs', 'java']),
    )
    .option(
      '--handler <handler>',
      'nodejs: <module>.<export> (default index.handler, or <file>.handler for one file); java: com.example.Hello::handleRequest (required)',
    )
    .option('--memory <MiB>', 'memory per Sandbox (default 128)', integerOption('--memory', 16))
    .option(
      '--timeout <seconds>',
      'longest an invocation may run (default 30)',
      integerOption('--timeout', 1),
    )
    .option(
      '--concurrency <n>',
      'invocations in flight per Sandbox (default 1)',
      integerOption('--concurrency', 1),
    )
    .option(
      '--replicas <n>',
      'fixed number of Sandboxes, without --min/--max (default 1)',
      integerOption('--replicas'),
    )
    .option('--min <n>', 'autoscale: fewest Sandboxes, 0 scales to zero', integerOption('--min'))
    .option('--max <n>', 'autoscale: most Sandboxes (default 10)', integerOption('--max', 1))
    .option(
      '--env <NAME=VALUE>',
      'an environment variable of the function (repeatable)',
      keyValueOption('--env'),
    )
    .option('--no-wait', 'return once written, without waiting for the rollout')
    .addOption(waitTimeoutOption())
    .addHelpText(
      'after',
      `
Each deploy declares the whole function: a flag left out returns to its default.
Code over 1 MiB packed does not fit a ConfigMap: serve it from a URL and use
spec.function.code.url with its sha256 in a SandboxDeployment instead.`,
    );
  return withClusterOptions(command, { output: OUTPUT_FORMATS, gateway: true }).action(
    async (path: string, flags: DeployFlags) => {
      const context = new CliContext(flags);
      try {
        await deploy(context, path, flags);
      } finally {
        context.close();
      }
    },
  );
}

async function deploy(context: CliContext, path: string, given: DeployFlags): Promise<void> {
  const flags = { ...given, name: functionName(path, given.name) };
  checkFlags(flags);
  const pkg = await packCode(path, flags.runtime ?? detectRuntime(path));
  const handler = handlerOf(pkg, flags.handler);
  // Refused before anything is written: a deploy that cannot ship leaves no trace.
  checkFitsConfigMap(pkg);
  const note = (line: string) => process.stderr.write(`${line}\n`);
  note(
    `Packed ${pkg.source} (${pkg.runtime}${pkg.files.length ? `, ${pkg.files.length} file${pkg.files.length === 1 ? '' : 's'}` : ''}): ${kib(pkg.bytes.length)}, sha256 ${pkg.sha256.slice(0, 12)}`,
  );

  const { client, namespace } = context;
  const codeMap = makeCodeConfigMap(flags.name, namespace, pkg);
  note(
    `${(await ensureConfigMap(client, codeMap)) ? 'Created' : 'Unchanged'} ConfigMap ${namespace}/${codeMap.metadata.name}`,
  );

  const applied = await client.apply(
    SandboxDeployments,
    makeSandboxDeployment({
      name: flags.name,
      namespace,
      runtime: pkg.runtime,
      handler,
      configMap: { name: codeMap.metadata.name!, key: pkg.key },
      memoryMiB: flags.memory,
      timeoutSeconds: flags.timeout,
      concurrency: flags.concurrency,
      env: flags.env ?? [],
      replicas: flags.replicas,
      autoscaling:
        flags.min !== undefined || flags.max !== undefined
          ? { minReplicas: flags.min, maxReplicas: flags.max }
          : undefined,
    }),
    // Like `kubectl apply --server-side --force-conflicts`: the deploy is the
    // declaration, even over a rollback or a kubectl edit since the last one.
    { force: true },
  );
  note(
    `Applied SandboxDeployment ${namespace}/${flags.name} (generation ${applied.metadata.generation})`,
  );
  await ownCodeMap(client, codeMap, applied);
  await pruneCodeMaps(client, applied, note);

  const url = context.functionUrl(flags.name);
  let final = applied;
  let message = 'not waited for (--no-wait)';
  if (flags.wait) {
    const done = await waitForRollout(
      client,
      { namespace, name: flags.name },
      { timeoutMs: flags.waitTimeout, onProgress: note },
    );
    final = done.deployment;
    message = done.message;
  }
  report(flags.output, {
    namespace,
    name: flags.name,
    runtime: pkg.runtime,
    handler,
    configMap: codeMap.metadata.name!,
    sha256: pkg.sha256,
    revision: flags.wait ? (final.status?.revision ?? null) : null,
    ready: flags.wait,
    message,
    url,
  });
}

/** --name, or the name the code suggests when it is a valid one. */
function functionName(path: string, flag: string | undefined): string {
  if (flag !== undefined) {
    if (!FUNCTION_NAME.test(flag))
      throw usageError(
        `Cannot use --name "${flag}": use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
      );
    return flag;
  }
  const name = defaultFunctionName(path);
  if (!FUNCTION_NAME.test(name))
    throw usageError(
      `Cannot name the function after ${path}: "${name}" is not a valid name (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit); pass --name`,
    );
  return name;
}

function checkFlags(flags: DeployFlags): void {
  const autoscaled = flags.min !== undefined || flags.max !== undefined;
  if (autoscaled && flags.replicas !== undefined)
    throw usageError(
      'Cannot use --replicas with --min/--max: the autoscaler sets the replicas between them',
    );
  if (flags.min !== undefined && flags.max !== undefined && flags.min > flags.max)
    throw usageError(
      `Cannot autoscale between --min ${flags.min} and --max ${flags.max}: min is larger`,
    );
}

function handlerOf(pkg: CodePackage, flag: string | undefined): string {
  if (pkg.runtime === 'java') {
    if (!flag)
      throw usageError(
        `Cannot deploy ${pkg.source}: a Java function needs --handler, such as com.example.Hello::handleRequest`,
      );
    return flag;
  }
  const handler = flag ?? pkg.defaultHandler ?? 'index.handler';
  checkNodeHandler(pkg, handler);
  return handler;
}

/** Creates the code ConfigMap; true if it is new. The same name means the same digest prefix: the full digest must match too. */
async function ensureConfigMap(client: KubeClient, configMap: ConfigMap): Promise<boolean> {
  try {
    await client.create(ConfigMaps, configMap);
    return true;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const existing = await client.get(ConfigMaps, {
    namespace: configMap.metadata.namespace,
    name: configMap.metadata.name!,
  });
  const want = configMap.metadata.annotations![CODE_SHA256_ANNOTATION];
  if (existing.metadata.annotations?.[CODE_SHA256_ANNOTATION] !== want)
    throw failure(
      'ROOST_CODE_CONFLICT',
      `Cannot store the code: ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name} exists with other content; delete it and deploy again`,
    );
  return false;
}

/** Makes the deployment the ConfigMap's owner, so that deleting the function deletes its code. */
async function ownCodeMap(
  client: KubeClient,
  configMap: ConfigMap,
  deployment: SandboxDeployment,
): Promise<void> {
  const key = { namespace: configMap.metadata.namespace, name: configMap.metadata.name! };
  const current = await client.get(ConfigMaps, key);
  if (current.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid)) return;
  // Metadata of an immutable ConfigMap may still change.
  await client.patch(ConfigMaps, key, {
    metadata: {
      ownerReferences: [
        {
          apiVersion: deployment.apiVersion!,
          kind: 'SandboxDeployment',
          name: deployment.metadata.name!,
          uid: deployment.metadata.uid!,
        },
      ],
    },
  });
}

/**
 * Deletes this deployment's code ConfigMaps that neither its template nor any
 * of its ReplicaSets (the revisions a rollback can return to) still names.
 * Best effort: a failure leaves a ConfigMap behind, never breaks the deploy.
 */
async function pruneCodeMaps(
  client: KubeClient,
  deployment: SandboxDeployment,
  note: (line: string) => void,
): Promise<void> {
  const namespace = deployment.metadata.namespace;
  const name = deployment.metadata.name!;
  try {
    const [maps, replicaSets] = await Promise.all([
      client.list(ConfigMaps, {
        namespace,
        labelSelector: `${DEPLOYMENT_LABEL}=${name},${MANAGED_BY_LABEL}=${MANAGED_BY_CLI}`,
      }),
      client.list(SandboxReplicaSets, { namespace, labelSelector: `${DEPLOYMENT_LABEL}=${name}` }),
    ]);
    const keep = referencedConfigMaps([
      deployment.spec.template,
      ...replicaSets.items.map((rs) => rs.spec.template),
    ]);
    for (const map of maps.items) {
      if (keep.has(map.metadata.name!)) continue;
      try {
        await client.delete(ConfigMaps, { namespace, name: map.metadata.name! });
        note(`Deleted ConfigMap ${namespace}/${map.metadata.name} (no revision uses it)`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  } catch (err) {
    note(`Could not clean up old code ConfigMaps: ${errorMessage(err)}`);
  }
}

interface DeployResult {
  namespace: string;
  name: string;
  runtime: Runtime;
  handler: string;
  configMap: string;
  sha256: string;
  revision: number | null;
  ready: boolean;
  message: string;
  url: string;
}

function report(format: OutputFormat, result: DeployResult): void {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(formatData(format, result));
    return;
  }
  process.stdout.write(
    [
      `${result.ready ? 'Deployed' : 'Submitted'} ${result.namespace}/${result.name}${result.revision ? ` revision ${result.revision}` : ''}: ${result.message}`,
      `  runtime ${result.runtime}, handler ${result.handler}, code ConfigMap ${result.configMap}`,
      `  call it: curl ${result.url}`,
      '',
    ].join('\n'),
  );
}

function kib(bytes: number): string {
  return bytes < 1024 * 1024
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}
