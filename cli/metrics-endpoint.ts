// The /metrics endpoint of `roost controller` and `roost sidecar` (the
// gateway serves its own on its HTTP port): the flags that place it, and the
// start that prints where it is, for roost dev and for people.
import { Option } from 'commander';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { collectProcessMetrics, serveMetrics, type MetricsServer } from '../lib/metrics.ts';
import { integerOption } from './options.ts';

export interface MetricsFlags {
  metricsHost?: string;
  metricsPort: number;
}

export function metricsOptions(defaultHost: string): Option[] {
  return [
    new Option('--metrics-host <address>', `address /metrics listens on (default: ${defaultHost})`),
    new Option('--metrics-port <port>', '/metrics port (0 picks a free one; -1 serves none)')
      .argParser(integerOption('--metrics-port', -1))
      .default(9090),
  ];
}

/**
 * Serves the process's metrics behind the invoke token, and prints
 * "roost <component> metrics at <url>". Without a token, or with
 * --metrics-port=-1, serves none and says so: metrics tell which functions
 * run and how busy they are, and are not for everyone on the pod network.
 */
export async function startMetricsEndpoint(options: {
  component: 'controller' | 'sidecar' | 'triggers';
  flags: MetricsFlags;
  defaultHost: string;
  token: string | undefined;
  log: Logger;
}): Promise<MetricsServer | undefined> {
  collectProcessMetrics(options.component);
  if (options.flags.metricsPort < 0) return undefined;
  if (!options.token) {
    options.log.warn('no invoke token: serving no /metrics (it requires the token)');
    return undefined;
  }
  try {
    const server = await serveMetrics({
      host: options.flags.metricsHost ?? options.defaultHost,
      port: options.flags.metricsPort,
      token: options.token,
      log: options.log,
    });
    console.log(`roost ${options.component} metrics at ${server.url}`);
    return server;
  } catch (err) {
    // Metrics are for watching, not for working: a taken port is a warning, not a dead component.
    options.log.warn({ err: errorMessage(err) }, 'cannot serve /metrics');
    return undefined;
  }
}
