// `roost stats <name>`: what each Sandbox of a function has done since it
// started (from its sidecar's Stats), and the function's total.
import { Command } from 'commander';
import { CliContext, type GlobalFlags } from '../context.ts';
import { OUTPUT_FORMATS, withClusterOptions, type OutputFormat } from '../options.ts';
import { formatMiB, formatMs, printResult } from '../output.ts';
import { requireDeployment } from '../sidecars.ts';
import { collectSandboxStats } from '../sandbox-stats.ts';
import { totalOf, type FunctionStats, type StatsTotal } from '../stats-total.ts';

interface StatsFlags extends GlobalFlags {
  output: OutputFormat;
}

export function statsCommand(): Command {
  const command = new Command('stats')
    .description(
      'Invocations, errors, timeouts, cold starts, p50/p99 duration, CPU and memory of a function, per Sandbox and in total.',
    )
    .argument('<name>', 'the function (SandboxDeployment) name')
    .addHelpText(
      'after',
      `
Counts start when a Sandbox starts. The total's p50 is the invocation-weighted
mean of the Sandboxes' p50s and its p99 the largest of their p99s (an upper
bound): percentiles of separate Sandboxes cannot be combined exactly.`,
    );
  return withClusterOptions(command, { output: OUTPUT_FORMATS, token: true }).action(
    async (name: string, flags: StatsFlags) => {
      const context = new CliContext(flags);
      try {
        await stats(context, name, flags);
      } finally {
        context.close();
      }
    },
  );
}

async function stats(context: CliContext, name: string, flags: StatsFlags): Promise<void> {
  const { client, namespace } = context;
  await requireDeployment(client, namespace, name);
  const rows = await collectSandboxStats(context, name);
  const result: FunctionStats = { namespace, name, sandboxes: rows, total: totalOf(rows) };
  printResult(flags.output, result, toTable);
  if (rows.length === 0 && flags.output !== 'json' && flags.output !== 'yaml')
    process.stderr.write(
      `${namespace}/${name} has no running Sandbox (at zero?): nothing counted\n`,
    );
}

function toTable(result: FunctionStats) {
  // A Java Sandbox shares its pod's JVM and has no resident size of its own
  // (-o json has the bytes its invocations allocated instead).
  const shared = (s: { runtime?: string }) => s.runtime === 'java';
  const allShared = result.sandboxes.length > 0 && result.sandboxes.every(shared);
  const row = (label: string, pod: string, s: Omit<StatsTotal, 'sandboxes'>, rssKnown: boolean) => [
    label,
    pod,
    String(s.invocations),
    String(s.errors),
    String(s.timeouts),
    String(s.coldStarts),
    formatMs(s.p50Ms),
    formatMs(s.p99Ms),
    `${s.cpuSeconds.toFixed(2)}s`,
    rssKnown ? formatMiB(s.rssBytes) : '-',
  ];
  return {
    headers: [
      'sandbox',
      'host',
      'invocations',
      'errors',
      'timeouts',
      'cold starts',
      'p50',
      'p99',
      'cpu',
      'rss',
    ],
    rows: [
      ...result.sandboxes.map((s) => row(s.sandbox, s.pod, s, !shared(s))),
      row('TOTAL', '', result.total, !allShared),
    ],
  };
}
