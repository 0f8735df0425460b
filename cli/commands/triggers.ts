// `roost triggers`: the consumers of every QueueTrigger. Run it as several
// replicas: each consumes every enabled trigger's queue (competing
// consumers), and the one holding the Lease writes the triggers' conditions
// and lag. Functions are invoked through a gateway's Invoke API.
import { Command, Option } from 'commander';
import { KubeClient } from '../../kube/client.ts';
import { TRIGGERS_LEASE_NAME } from '../../kube/well-known.ts';
import { createLogger } from '../../lib/log.ts';
import { leaseFromFlags, runUntilStopped, type LeaseFlags } from '../leader-process.ts';
import { durationOption, readInvokeToken } from '../options.ts';
import { metricsOptions, startMetricsEndpoint, type MetricsFlags } from '../metrics-endpoint.ts';

interface TriggersFlags extends MetricsFlags, LeaseFlags {
  kubeconfig?: string;
  namespace?: string;
  gatewayUrl: string;
  eventsUrl?: string;
  tokenFile?: string;
  ackWait: number;
  statusInterval: number;
  cleanupTimeout: number;
}

export function triggersCommand(): Command {
  const command = new Command('triggers')
    .description(
      'Run the consumers of every QueueTrigger (RabbitMQ, NATS JetStream); replicas compete for messages, one leader writes status.',
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig to use (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .option('--namespace <ns>', "serve this namespace's triggers only (default: every namespace)")
    .addOption(
      new Option(
        '--gateway-url <url>',
        'a gateway (its Service): functions are invoked through its Invoke API',
      )
        .env('ROOST_GATEWAY_URL')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--events-url <url>',
        "Roost's own NATS server, read by nats sources that name no serverSecretRef",
      ).env('ROOST_EVENTS_URL'),
    )
    .addOption(
      new Option(
        '--token-file <path>',
        'file holding the invoke token, shown to the gateway and to Roost’s NATS (or set ROOST_INVOKE_TOKEN)',
      ).env('ROOST_INVOKE_TOKEN_FILE'),
    )
    .option('--lease-namespace <ns>', 'namespace of the leader Lease', 'roost-system')
    .option('--lease-name <name>', 'name of the leader Lease', TRIGGERS_LEASE_NAME)
    .option('--identity <id>', 'this process in the Lease (default: hostname_pid_random)')
    .option('--lease-duration <duration>', 'how long the Lease holds', durationOption, 10_000)
    .option(
      '--renew-deadline <duration>',
      'a leader that cannot renew stops',
      durationOption,
      7_000,
    )
    .option('--retry-period <duration>', 'how often to try the Lease', durationOption, 2_000)
    .option(
      '--ack-wait <duration>',
      'NATS: how long a message may go unacknowledged before it is offered to another replica (kept alive while it runs)',
      durationOption,
      10_000,
    )
    .option(
      '--cleanup-timeout <duration>',
      'how long a deleted QueueTrigger (or one whose source changed) waits for its broker to remove what Roost made there, before giving up with a Warning Event',
      durationOption,
      120_000,
    )
    .option(
      '--status-interval <duration>',
      'how often counts, lag and conditions are written',
      durationOption,
      1000,
    );
  for (const option of metricsOptions('0.0.0.0')) command.addOption(option);
  return command.action(async (flags: TriggersFlags) => {
    const { runTriggers } = await import('../../triggers/manager.ts');
    const log = createLogger('triggers');
    const client = KubeClient.load(flags.kubeconfig, { fieldManager: 'roost-triggers' });
    const token = readInvokeToken(flags.tokenFile);
    if (!token) log.warn('no invoke token: the gateway and Roost’s NATS may refuse roost triggers');
    const metrics = await startMetricsEndpoint({
      component: 'triggers',
      flags,
      defaultHost: '0.0.0.0',
      token,
      log,
    });
    await runUntilStopped({
      name: 'roost triggers',
      log,
      work: (signal) =>
        runTriggers(
          {
            client,
            log,
            namespace: flags.namespace,
            gatewayUrl: flags.gatewayUrl,
            token,
            eventsUrl: flags.eventsUrl,
            ackWaitMs: flags.ackWait,
            statusIntervalMs: flags.statusInterval,
            cleanupTimeoutMs: flags.cleanupTimeout,
            onReady: () => console.log('roost triggers ready: caches synced, consuming'),
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
