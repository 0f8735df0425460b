// `roost controller`: the sandbox scheduler and the workload controllers in
// one process, acting only while it holds the leader Lease, so that several
// replicas can run and one takes over within seconds when the leader dies.
import { Command, Option } from 'commander';
import { Namespaces } from '../../kube/api/resources.ts';
import { KubeClient } from '../../kube/client.ts';
import { isAlreadyExists } from '../../kube/errors.ts';
import { CONTROLLER_LEASE_NAME, HOST_LEASE_RENEW_MS } from '../../kube/well-known.ts';
import { usageError } from '../errors.ts';
import { formatDuration } from '../../lib/duration.ts';
import { errorMessage } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { durationOption, readInvokeToken } from '../options.ts';
import { leaseFromFlags, runUntilStopped, type LeaseFlags } from '../leader-process.ts';
import { metricsOptions, startMetricsEndpoint, type MetricsFlags } from '../metrics-endpoint.ts';

interface ControllerFlags extends MetricsFlags, LeaseFlags {
  kubeconfig?: string;
  namespace?: string;
  hostGrace: number;
  hostLeaseRenew: number;
  tokenFile?: string;
  eventsUrl?: string;
}

export function controllerCommand(): Command {
  const command = new Command('controller')
    .description('Run the sandbox scheduler and the workload controllers (leader-elected).')
    .option(
      '--kubeconfig <path>',
      'kubeconfig to use (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .option('--lease-namespace <ns>', 'namespace of the leader Lease', 'roost-system')
    .option('--lease-name <name>', 'name of the leader Lease', CONTROLLER_LEASE_NAME)
    .option(
      '--namespace <ns>',
      'act in this namespace only, host pods included (default: every namespace)',
    )
    .option('--identity <id>', 'this process in the Lease (default: hostname_pid_random)')
    .option(
      '--host-grace <duration>',
      'how long a host Lease may go unrenewed before its Sandboxes move',
      durationOption,
      20_000,
    )
    .option(
      '--host-lease-renew <duration>',
      'how often the sidecars renew their host Leases (their default); --host-grace must be longer',
      durationOption,
      HOST_LEASE_RENEW_MS,
    )
    .option(
      '--lease-duration <duration>',
      'how long the leader Lease holds without renewal',
      durationOption,
      10_000,
    )
    .option(
      '--renew-deadline <duration>',
      'a leader that cannot renew for this long stops acting',
      durationOption,
      7_000,
    )
    .option(
      '--retry-period <duration>',
      'how often to try to take or renew the Lease',
      durationOption,
      2_000,
    )
    .addOption(
      new Option(
        '--token-file <path>',
        "file holding the invoke token, which gateways require of the autoscaler's concurrency reads (or set ROOST_INVOKE_TOKEN)",
      ).env('ROOST_INVOKE_TOKEN_FILE'),
    )
    .addOption(
      new Option(
        '--events-url <url>',
        'the durable event queue (NATS JetStream, nats://host:port) that cron triggers send their events to',
      ).env('ROOST_EVENTS_URL'),
    );
  for (const option of metricsOptions('0.0.0.0')) command.addOption(option);
  return command.action(async (flags: ControllerFlags) => {
    // Loaded here, not at the top: the user's verbs need none of the controllers.
    const { defaultComponents } = await import('../../controllers/components.ts');
    const { runManager } = await import('../../controllers/manager.ts');
    checkHostGrace(flags.hostGrace, flags.hostLeaseRenew);
    const log = createLogger('controller');
    const client = KubeClient.load(flags.kubeconfig, { fieldManager: 'roost-controller' });
    await ensureNamespace(client, flags.leaseNamespace);
    const invokeToken = readInvokeToken(flags.tokenFile);
    const metrics = await startMetricsEndpoint({
      component: 'controller',
      flags,
      defaultHost: '0.0.0.0',
      token: invokeToken,
      log,
    });
    await runUntilStopped({
      name: 'roost controller',
      log,
      work: (signal) =>
        runManager(
          {
            client,
            components: defaultComponents({
              hostGraceMs: flags.hostGrace,
              invokeToken,
              eventsUrl: flags.eventsUrl,
            }),
            log,
            namespace: flags.namespace,
            // For whoever started us (roost dev, tests), whatever the log level.
            onActing: () => console.log('roost controller leading: caches synced, acting'),
            lease: leaseFromFlags(flags),
          },
          signal,
        ),
      close: async () => {
        await metrics?.close();
        client.close();
      },
    });
  });
}

/**
 * A host is lost when its Lease goes unrenewed for the grace period; with a
 * grace no longer than the interval between renewals, every healthy host
 * would be declared lost between two of them and its Sandboxes moved.
 */
export function checkHostGrace(graceMs: number, renewMs: number): void {
  if (graceMs > renewMs) return;
  throw usageError(
    `--host-grace ${formatDuration(graceMs)} is too short: sidecars renew their host Leases every ${formatDuration(renewMs)} (--host-lease-renew), so healthy hosts would be declared lost; use more than ${formatDuration(renewMs)} (default 20s)`,
  );
}

async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(Namespaces, { metadata: { name } });
  } catch (err) {
    if (isAlreadyExists(err)) return;
    // Without rights to create namespaces, it must exist already; the Lease calls will say if not.
    createLogger('controller').debug(
      { err: errorMessage(err) },
      'cannot create the Lease namespace',
    );
  }
}
