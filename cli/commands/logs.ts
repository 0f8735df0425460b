// `roost logs <name>`: what a function printed, from every sidecar that ran
// it, merged in time order. With -f it keeps following: per sidecar, first
// the lines so far, then a follow stream from the last one seen, so that no
// line falls between the two and none is printed twice.
import { Command, Option } from 'commander';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { stringify } from 'yaml';
import type { LogEntry, LogsRequest } from '../../proto/sandbox-host.ts';
import { SandboxHostConnection } from '../../sidecar/client.ts';
import { CliContext, type GlobalFlags } from '../context.ts';
import {
  formatLine,
  levelOf,
  lineData,
  lineKey,
  LEVELS,
  mergeByTime,
  parseSince,
  type LevelName,
} from '../log-lines.ts';
import {
  integerOption,
  OUTPUT_FORMATS,
  withClusterOptions,
  type OutputFormat,
} from '../options.ts';
import {
  requireDeployment,
  sandboxesOf,
  sidecarError,
  sidecarTargets,
  type SidecarTarget,
} from '../sidecars.ts';

interface LogsFlags extends GlobalFlags {
  since?: string;
  level?: LevelName;
  grep?: string;
  requestId?: string;
  follow?: boolean;
  tail?: number;
  output: OutputFormat;
}

export function logsCommand(): Command {
  const command = new Command('logs')
    .description("Print a function's log lines from all its Sandboxes, oldest first.")
    .argument('<name>', 'the function (SandboxDeployment) name')
    .option('--since <when>', 'only lines newer than a duration (10m, 2h) or a time (RFC 3339)')
    .addOption(new Option('--level <level>', 'only lines at this level or above').choices(LEVELS))
    .option('--grep <text>', 'only lines containing this text')
    .option('--request-id <id>', 'only lines of this invocation (x-roost-request-id)')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('--tail <n>', 'only the last n lines so far', integerOption('--tail', 1));
  return withClusterOptions(command, { output: OUTPUT_FORMATS, token: true }).action(
    async (name: string, flags: LogsFlags) => {
      const context = new CliContext(flags);
      try {
        await logs(context, name, flags);
      } finally {
        context.close();
      }
    },
  );
}

async function logs(context: CliContext, name: string, flags: LogsFlags): Promise<void> {
  const sinceMs = flags.since ? parseSince(flags.since) : 0;
  const { client, namespace } = context;
  await requireDeployment(client, namespace, name);
  const token = await context.token();
  const filter: Partial<LogsRequest> = {
    namespace,
    deployment: name,
    minLevel: flags.level ? levelOf(flags.level) : 'LOG_LEVEL_UNSPECIFIED',
    sinceMs,
    contains: flags.grep ?? '',
    requestId: flags.requestId ?? '',
    limit: flags.tail ?? 0,
  };
  const print = printer(flags.output);
  const sources = new Map<string, Source>();
  const findTargets = async () =>
    sidecarTargets(client, await sandboxesOf(client, namespace, name), {
      allHosts: true,
      route: context.sidecarRoute(),
    });

  // The lines so far, from every sidecar, in one time order.
  const targets = await findTargets();
  for (const target of targets) sources.set(target.address, newSource(target, token));
  const past = await Promise.all([...sources.values()].map((s) => readPast(s, filter)));
  const merged = mergeByTime(past);
  for (const line of flags.tail ? merged.slice(-flags.tail) : merged) print(line);
  if (targets.length === 0)
    process.stderr.write(`${namespace}/${name} has run nowhere yet: no logs\n`);
  if (!flags.follow) {
    for (const source of sources.values()) source.connection.close();
    return;
  }

  // Follow until interrupted; sidecars of new Sandboxes join as they appear.
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  for (const source of sources.values()) follow(source, filter, print);
  const refresh = setInterval(() => {
    void findTargets().then(
      (found) => {
        for (const target of found) {
          if (sources.has(target.address)) continue;
          const source = newSource(target, token);
          sources.set(target.address, source);
          follow(source, filter, print);
        }
      },
      () => undefined, // The API server may be briefly away; the next refresh tries again.
    );
  }, 3000);
  await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
  clearInterval(refresh);
  for (const source of sources.values()) {
    source.stream?.cancel();
    source.connection.close();
  }
}

interface Source {
  target: SidecarTarget;
  connection: SandboxHostConnection;
  /** Keys of the lines printed at the newest time seen, to drop their repeats. */
  seenAtLast: Set<string>;
  lastTimeMs: number;
  stream?: ClientReadableStream<LogEntry>;
}

function newSource(target: SidecarTarget, token: string): Source {
  return {
    target,
    connection: new SandboxHostConnection(target.address, token),
    seenAtLast: new Set(),
    lastTimeMs: 0,
  };
}

/** One sidecar's lines so far. A sidecar that hosts the function must answer; others may not. */
async function readPast(source: Source, filter: Partial<LogsRequest>): Promise<LogEntry[]> {
  const lines: LogEntry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const stream = source.connection.logs({ ...filter, follow: false }, { deadlineMs: 10_000 });
      stream.on('data', (line: LogEntry) => lines.push(line));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
  } catch (err) {
    if (source.target.hostsSandbox) throw sidecarError(source.target, err);
    return [];
  }
  for (const line of lines) remember(source, line);
  return lines;
}

function follow(
  source: Source,
  filter: Partial<LogsRequest>,
  print: (line: LogEntry) => void,
): void {
  const request = {
    ...filter,
    follow: true,
    limit: 0,
    sinceMs: Math.max(filter.sinceMs ?? 0, source.lastTimeMs),
  };
  const stream = source.connection.logs(request);
  source.stream = stream;
  stream.on('data', (line: LogEntry) => {
    if (line.timeMs < source.lastTimeMs) return;
    if (line.timeMs === source.lastTimeMs && source.seenAtLast.has(lineKey(line))) return;
    remember(source, line);
    print(line);
  });
  stream.on('error', (err: unknown) => {
    if ((err as { code?: number }).code === 1) return; // CANCELLED: we stopped it.
    if (source.target.hostsSandbox)
      process.stderr.write(`roost: ${sidecarError(source.target, err).message}\n`);
  });
}

function remember(source: Source, line: LogEntry): void {
  if (line.timeMs > source.lastTimeMs) {
    source.lastTimeMs = line.timeMs;
    source.seenAtLast.clear();
  }
  source.seenAtLast.add(lineKey(line));
}

function printer(format: OutputFormat): (line: LogEntry) => void {
  if (format === 'json')
    return (line) => process.stdout.write(`${JSON.stringify(lineData(line))}\n`);
  if (format === 'yaml') return (line) => process.stdout.write(`---\n${stringify(lineData(line))}`);
  return (line) => process.stdout.write(`${formatLine(line)}\n`);
}
