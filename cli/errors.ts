// What `roost` exits with, and the errors its verbs throw. Scripts branch on
// the exit code; people read the message, which says what to do next.
import { CommanderError } from 'commander';
import { KubeApiError, KubeConnectionError } from '../kube/errors.ts';
import { RoostError } from '../lib/errors.ts';

/**
 * The exit codes of every verb, documented in the README:
 * 0 it worked; 1 it ran and failed (a function answered 4xx/5xx, a rollout
 * failed or timed out, the API server refused a write); 2 the command line or
 * its input is wrong (unknown flag, bad value, code too large, project not
 * built); 3 what was named does not exist (function, revision, namespace);
 * 4 the cluster, the gateway or a sidecar cannot be reached.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  unreachable: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error of a `roost` verb that knows its exit code. */
export class CliError extends RoostError {
  readonly exitCode: ExitCodeValue;

  constructor(code: string, exitCode: ExitCodeValue, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string, options?: ErrorOptions) =>
  new CliError('ROOST_USAGE', ExitCode.usage, message, options);

export const notFoundError = (message: string, options?: ErrorOptions) =>
  new CliError('ROOST_NOT_FOUND', ExitCode.notFound, message, options);

export const unreachableError = (message: string, options?: ErrorOptions) =>
  new CliError('ROOST_UNREACHABLE', ExitCode.unreachable, message, options);

export const failure = (code: string, message: string, options?: ErrorOptions) =>
  new CliError(code, ExitCode.failure, message, options);

/** The exit code for anything a verb throws. */
export function exitCodeOf(err: unknown): ExitCodeValue {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (err instanceof KubeConnectionError) return ExitCode.unreachable;
  if (err instanceof KubeApiError) {
    if (err.status === 404) return ExitCode.notFound;
    if (err.status === 400 || err.status === 422) return ExitCode.usage;
    return ExitCode.failure;
  }
  if (err instanceof RoostError && err.code === 'ROOST_USAGE') return ExitCode.usage;
  return ExitCode.failure;
}

/** A hint for errors that people commonly meet, appended to their message. */
export function hintFor(err: unknown): string | undefined {
  if (err instanceof KubeConnectionError)
    return 'is the cluster running? Start a local one with `roost dev`, or pass --kubeconfig';
  if (err instanceof KubeApiError && (err.status === 401 || err.status === 403))
    return 'the kubeconfig credentials are not allowed to do this';
  return undefined;
}
