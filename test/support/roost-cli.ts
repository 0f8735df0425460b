// The real `roost` command as a subprocess, the way a user runs it: what it
// prints on stdout and stderr and its exit code. The environment is cleaned
// of anything that would point it elsewhere (KUBECONFIG, ROOST_*), so that
// each test says exactly where the CLI finds the cluster, gateway and token.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { kubeconfigPath } from './cluster.ts';
import type { RoostSystem } from './roost-system.ts';

export const ROOST_CLI = join(import.meta.dirname, '..', '..', 'cli', 'roost.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string | Buffer;
  /** Killed after this long (default 120 s), so that a hung CLI fails its test. */
  timeoutMs?: number;
}

/** What the CLI reads to find the test's cluster, gateway and token. */
export function systemEnv(system: RoostSystem): Record<string, string> {
  return {
    KUBECONFIG: kubeconfigPath(),
    ROOST_GATEWAY: system.gateway.url,
    ROOST_INVOKE_TOKEN: system.hosts.token,
  };
}

function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env))
    if (key === 'KUBECONFIG' || key.startsWith('ROOST_')) delete env[key];
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function spawnCli(args: string[], options: CliOptions): ChildProcess {
  return spawn(process.execPath, [ROOST_CLI, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `roost <args>` to its end. */
export function roost(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(options.input);
  });
}

/** A `roost` that keeps running (logs -f): its lines so far, and a way to stop it. */
export interface RunningCli {
  stdoutLines: string[];
  stderrLines: string[];
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends the signal and resolves with the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Kills whatever startRoost left running; call in afterAll. */
export function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function startRoost(args: string[], options: CliOptions = {}): RunningCli {
  const child = spawnCli(args, options);
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdoutLines.push(line);
    for (const wake of waiters) wake();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderrLines.push(line));
  return {
    stdoutLines,
    stderrLines,
    waitForStdout(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = stdoutLines.find((line) => pattern.test(line));
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `roost ${args.join(' ')} printed no line matching ${pattern} in ${timeoutMs} ms; stdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderrLines.join('\n')}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGINT') {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
