// `roost controller` as a real child process for end-to-end tests: scoped to
// the test's namespace (so test files running side by side do not act on
// each other's objects), with its own leader Lease there, logging to a file.
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { processLog } from './process-log.ts';
import { kubeconfigPath } from './cluster.ts';

const ROOST = join(import.meta.dirname, '..', '..', 'cli', 'roost.ts');

export interface ControllerProcess {
  identity: string;
  process: ManagedProcess;
  logFile: string;
  /** The log so far, for failure messages. */
  log(): string;
  /** Where it serves /metrics, once it has said so. */
  metricsUrl(): string | undefined;
  stop(): Promise<void>;
}

export function startController(options: {
  namespace: string;
  identity: string;
  /** --host-grace, such as "5s". */
  hostGrace?: string;
  extraArgs?: string[];
  /** The invoke token, which the autoscaler shows gateways to read their concurrency. */
  token?: string;
  /** Another control plane than the shared one (a test that pauses its API server). */
  kubeconfig?: string;
}): ControllerProcess {
  const log = processLog('roost-controller-', options.identity);
  const child = startProcess({
    name: `roost controller ${options.identity}`,
    command: process.execPath,
    args: [
      ROOST,
      'controller',
      '--kubeconfig',
      options.kubeconfig ?? kubeconfigPath(),
      '--namespace',
      options.namespace,
      '--lease-namespace',
      options.namespace,
      '--identity',
      options.identity,
      '--metrics-host=127.0.0.1',
      '--metrics-port=0',
      ...(options.hostGrace ? ['--host-grace', options.hostGrace] : []),
      ...(options.extraArgs ?? []),
    ],
    env: {
      ...process.env,
      ROOST_LOG_LEVEL: 'info',
      ...(options.token ? { ROOST_INVOKE_TOKEN: options.token } : {}),
    },
    logFile: log.file,
  });
  return {
    identity: options.identity,
    process: child,
    logFile: log.file,
    log: log.read,
    metricsUrl() {
      return /roost controller metrics at (\S+)/.exec(this.log())?.[1];
    },
    stop: async () => {
      await child.stop(5000);
      log.remove();
    },
  };
}
