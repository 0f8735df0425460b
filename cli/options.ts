// Option parsers shared by the roost subcommands, each failing with a message
// that names the option.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../lib/duration.ts';

export function integerOption(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(
        `${name} must be a whole number of at least ${min}, not "${value}"`,
      );
    return n;
  };
}

export function durationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function listOption<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((item) => !allowed.includes(item as T));
    if (bad.length > 0)
      throw new InvalidArgumentError(
        `unknown ${bad.join(', ')}: choose from ${allowed.join(', ')}`,
      );
    return items as T[];
  };
}

/**
 * --allowed-namespaces: "*" or a comma-separated list of namespace names, the
 * value of a host pod's roost.dev/allowed-namespaces annotation.
 */
export function allowedNamespacesOption(value: string): string {
  const trimmed = value.trim();
  if (trimmed === '*') return trimmed;
  const names = trimmed
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n));
  if (names.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(
      `--allowed-namespaces takes "*" or namespace names separated by commas${bad.length ? `; not a namespace name: ${bad.join(', ')}` : ''}`,
    );
  return names.join(',');
}

/** --env K=V, repeatable: collects [name, value] pairs in order. */
export function keyValueOption(flag: string) {
  return (value: string, previous: [string, string][] = []): [string, string][] => {
    const eq = value.indexOf('=');
    if (eq <= 0)
      throw new InvalidArgumentError(`${flag} takes NAME=VALUE, such as ${flag} LEVEL=debug`);
    return [...previous, [value.slice(0, eq), value.slice(eq + 1)]];
  };
}

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number] | 'wide';

/**
 * The flags every verb that talks to a cluster takes: -n, --kubeconfig, and
 * where its output is data, -o. (Resolution order: cli/context.ts.)
 */
export function withClusterOptions(
  command: Command,
  options: { output?: readonly OutputFormat[]; gateway?: boolean; token?: boolean } = {},
): Command {
  command
    .option(
      '-n, --namespace <namespace>',
      "namespace (default: the kubeconfig context's, or default)",
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig (default: KUBECONFIG, .roost/kubeconfig, ~/.kube/config)',
    );
  if (options.gateway)
    command.option(
      '--gateway <url>',
      'gateway URL (default: ROOST_GATEWAY, .roost/dev.json, http://127.0.0.1:8080)',
    );
  if (options.token)
    command.option(
      '--token-file <path>',
      'file holding the invoke token (default: ROOST_INVOKE_TOKEN, .roost/dev.json, the Secret roost-system/roost-invoke-token)',
    );
  if (options.output)
    command.addOption(
      new Option('-o, --output <format>', 'output format').choices(options.output).default('table'),
    );
  return command;
}

/** --wait-timeout of the verbs that wait for a rollout (default 2m). */
export function waitTimeoutOption(): Option {
  return new Option('--wait-timeout <duration>', 'how long to wait for the rollout')
    .argParser(durationOption)
    .default(120_000, '2m');
}

/** The invoke token of a component: the file --token-file names, else ROOST_INVOKE_TOKEN. */
export function readInvokeToken(tokenFile: string | undefined): string | undefined {
  return tokenFile ? readFileSync(tokenFile, 'utf8').trim() : process.env.ROOST_INVOKE_TOKEN;
}
