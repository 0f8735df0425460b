// `roost triggers` as a real child process for end-to-end tests: scoped to
// the test's namespace, with its leader Lease there, logging to a file that
// a test can read (to check that no credential is ever logged).
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { processLog } from './process-log.ts';
import { kubeconfigPath } from './cluster.ts';
import type { RoostSystem } from './roost-system.ts';

const ROOST = join(import.meta.dirname, '..', '..', 'cli', 'roost.ts');

export interface TriggersProcess {
  identity: string;
  process: ManagedProcess;
  /** Resolves when it says its caches synced. */
  ready: Promise<void>;
  /** Everything it logged so far (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

export function startTriggers(
  system: RoostSystem,
  options: { identity: string; extraArgs?: string[] },
): TriggersProcess {
  const log = processLog('roost-triggers-', options.identity);
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const child = startProcess({
    name: `roost triggers ${options.identity}`,
    command: process.execPath,
    args: [
      ROOST,
      'triggers',
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${system.namespace}`,
      `--lease-namespace=${system.namespace}`,
      `--identity=${options.identity}`,
      `--gateway-url=${system.gateway.url}`,
      `--events-url=${system.nats.url}`,
      '--metrics-port=-1',
      '--lease-duration=3s',
      '--renew-deadline=2s',
      '--retry-period=500ms',
      '--status-interval=300ms',
      ...(options.extraArgs ?? []),
    ],
    env: {
      ...process.env,
      ROOST_INVOKE_TOKEN: system.hosts.token,
      ROOST_EXIT_WITH_PARENT: '1',
      ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'info',
    },
    logFile: log.file,
    keepStderrLines: 30,
    onLine: (line) => {
      if (line.includes('roost triggers ready')) markReady();
    },
  });
  return {
    identity: options.identity,
    process: child,
    ready: Promise.race([
      ready,
      child.exited.then((exit) => {
        throw new Error(
          `roost triggers exited (${exit.code ?? exit.signal}):\n${child.stderrTail.join('\n')}`,
        );
      }),
    ]),
    log: log.read,
    stop: async () => {
      await child.stop(10_000);
      log.remove();
    },
  };
}
