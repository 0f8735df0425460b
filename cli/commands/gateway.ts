// `roost gateway`: the HTTP front door. In a cluster it runs as a Deployment
// behind a Service; in `roost dev` as a local process on 127.0.0.1:8080.
import { Command, Option } from 'commander';
import { RoostError } from '../../lib/errors.ts';
import { exitWithParent } from '../../lib/parent-watch.ts';
import { onShutdown } from '../../lib/shutdown.ts';
import { DEFAULT_GATEWAY_LIMITS } from '../../gateway/limits.ts';
import { durationOption, integerOption, readInvokeToken } from '../options.ts';

interface GatewayOptions {
  host: string;
  port: number;
  kubeconfig?: string;
  tokenFile?: string;
  namespace: string;
  name?: string;
  activationWait: number;
  eventsUrl?: string;
  eventsAckWait: number;
  eventsConcurrency: number;
  invokeApiNamespace: string;
  invokeApiAuth: 'none' | 'sigv4';
  sigv4KeysDir: string;
  advertiseUrl?: string;
  drainDelay: number;
  podUid?: string;
  maxConnections?: number;
  headerTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  bodyMemoryMib: number;
  maxHeldPerFunction: number;
  maxHeld: number;
}

export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('Serve functions over HTTP at /fn/<namespace>/<name>, routing to ready Sandboxes.')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option(
      '--port <port>',
      'port to listen on (0 picks a free one)',
      integerOption('--port'),
      8080,
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .addOption(
      new Option(
        '--token-file <path>',
        'file holding the invoke token (or set ROOST_INVOKE_TOKEN)',
      ).env('ROOST_INVOKE_TOKEN_FILE'),
    )
    .addOption(
      new Option(
        '--namespace <namespace>',
        'namespace of the registration Lease the autoscaler finds gateways by',
      )
        .env('POD_NAMESPACE')
        .default('roost-system'),
    )
    .addOption(
      new Option('--name <name>', 'name of that Lease (default: from host name and port)').env(
        'POD_NAME',
      ),
    )
    .option(
      '--activation-wait <duration>',
      'longest a request waits for a function scaled to zero',
      durationOption,
      30_000,
    )
    .addOption(
      new Option(
        '--events-url <url>',
        'the durable event queue, NATS with JetStream (nats://host:port); without it, event invocations are refused (503)',
      ).env('ROOST_EVENTS_URL'),
    )
    .option(
      '--events-ack-wait <duration>',
      'how long an event this gateway took may go without word before the queue gives it to another gateway (it is renewed while the function runs)',
      durationOption,
      30_000,
    )
    .option(
      '--events-concurrency <n>',
      'event invocations this gateway runs at once',
      integerOption('--events-concurrency', 1),
      64,
    )
    .option(
      '--invoke-api-namespace <namespace>',
      'namespace of an Invoke API FunctionName that names none (a plain name)',
      'default',
    )
    .addOption(
      new Option(
        '--invoke-api-auth <mode>',
        'Invoke API requests: accept any (none), or require a SigV4 signature made with a key in --sigv4-keys-dir',
      )
        .choices(['none', 'sigv4'])
        .default('none'),
    )
    .option(
      '--sigv4-keys-dir <dir>',
      'SigV4 keys for --invoke-api-auth sigv4: one file per access key id, holding its secret key (a mounted Secret)',
      '/etc/roost/sigv4-keys',
    )
    .addOption(
      new Option(
        '--pod-uid <uid>',
        'uid of the pod named by --name, which then owns the registration Lease',
      ).env('POD_UID'),
    )
    .option(
      '--drain-delay <duration>',
      'on SIGTERM, keep serving this long with /readyz at 503 before closing, so Services stop sending first',
      durationOption,
      0,
    )
    .option(
      '--advertise-url <url>',
      'URL the autoscaler reaches this gateway at (default: http://<host>:<port>)',
    )
    .option(
      '--max-connections <n>',
      'open client connections at most; new ones beyond are closed (default: 10000, or fewer if the open-files limit is lower)',
      integerOption('--max-connections', 1),
    )
    .option(
      '--header-timeout <duration>',
      'a client must send its complete request headers within this long (slowloris), else 408',
      durationOption,
      DEFAULT_GATEWAY_LIMITS.headersTimeoutMs,
    )
    .option(
      '--request-timeout <duration>',
      'a client must send its whole request, body included, within this long, else 408',
      durationOption,
      DEFAULT_GATEWAY_LIMITS.requestTimeoutMs,
    )
    .option(
      '--keep-alive-timeout <duration>',
      'an idle keep-alive connection is closed after this long',
      durationOption,
      DEFAULT_GATEWAY_LIMITS.keepAliveTimeoutMs,
    )
    .option(
      '--body-memory-mib <MiB>',
      'request bodies held at once, across all requests; beyond it 503 (retry shortly)',
      integerOption('--body-memory-mib', 1),
      DEFAULT_GATEWAY_LIMITS.bodyMemoryBytes / 1024 / 1024,
    )
    .option(
      '--max-held-per-function <n>',
      'requests held for one function that has no ready Sandbox; beyond it 429',
      integerOption('--max-held-per-function', 0),
      DEFAULT_GATEWAY_LIMITS.maxHeldPerFunction,
    )
    .option(
      '--max-held <n>',
      'requests held for all functions together; beyond it 429',
      integerOption('--max-held', 0),
      DEFAULT_GATEWAY_LIMITS.maxHeldTotal,
    )
    .action(async (options: GatewayOptions) => {
      const token = readInvokeToken(options.tokenFile);
      if (!token)
        throw new RoostError(
          'ROOST_USAGE',
          'Cannot start the gateway: no invoke token; set ROOST_INVOKE_TOKEN or --token-file',
        );
      // Loaded here, not at the top: the user's verbs need none of the gateway.
      const { startGateway } = await import('../../gateway/gateway.ts');
      const gateway = await startGateway({
        host: options.host,
        port: options.port,
        kubeconfig: options.kubeconfig,
        token,
        namespace: options.namespace,
        name: options.name,
        activationWaitMs: options.activationWait,
        eventsUrl: options.eventsUrl,
        eventsAckWaitMs: options.eventsAckWait,
        eventsConcurrency: options.eventsConcurrency,
        invokeApiNamespace: options.invokeApiNamespace,
        sigv4KeysDir: options.invokeApiAuth === 'sigv4' ? options.sigv4KeysDir : undefined,
        advertiseUrl: options.advertiseUrl,
        drainDelayMs: options.drainDelay,
        podUid: options.podUid,
        limits: {
          ...(options.maxConnections !== undefined
            ? { maxConnections: options.maxConnections }
            : {}),
          headersTimeoutMs: options.headerTimeout,
          requestTimeoutMs: options.requestTimeout,
          keepAliveTimeoutMs: options.keepAliveTimeout,
          bodyMemoryBytes: options.bodyMemoryMib * 1024 * 1024,
          maxHeldPerFunction: options.maxHeldPerFunction,
          maxHeldTotal: options.maxHeld,
        },
      });
      console.log(`roost gateway ready on ${gateway.url}`);
      const stop = () => gateway.stop();
      onShutdown(stop);
      exitWithParent(() => void stop().finally(() => process.exit(0)));
    });
}
