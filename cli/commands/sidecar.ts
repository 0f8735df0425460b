// `roost sidecar`: the kubelet of a host pod. In a real cluster it runs as a
// container beside the pod's runtimes, told its pod through the downward API
// (POD_NAME, POD_NAMESPACE, POD_IP) and its token through a mounted Secret.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoostError } from '../../lib/errors.ts';
import { exitWithParent } from '../../lib/parent-watch.ts';
import { onShutdown } from '../../lib/shutdown.ts';
import type { Runtime } from '../../kube/api/roost.ts';
import { durationOption, integerOption, listOption } from '../options.ts';

interface SidecarOptions {
  kubeconfig?: string;
  podName?: string;
  podNamespace?: string;
  podIp?: string;
  listen?: string;
  port: number;
  tokenFile?: string;
  dataDir?: string;
  runtimes?: Runtime[];
  warmPoolSize: number;
  hibernateAfter: number;
  nodeOverheadMib: number;
  javaMaxHeapMib?: number;
  javaBridgeDir?: string;
  keepUnusedCode: number;
  memoryMib?: number;
  cpuMillis?: number;
  maxSandboxes?: number;
  functionUids: 'auto' | 'off';
  cgroups: 'auto' | 'off';
  functionUidRange?: string;
  uidClaimsDir?: string;
  functionTmpMib: number;
  drainDelay: number;
}

export function sidecarCommand(): Command {
  return new Command('sidecar')
    .description(
      'Run the sidecar of a host pod: plug the Sandboxes bound to it and serve them over gRPC.',
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .addOption(new Option('--pod-name <name>', 'this pod').env('POD_NAME'))
    .addOption(
      new Option('--pod-namespace <namespace>', "this pod's namespace").env('POD_NAMESPACE'),
    )
    .addOption(new Option('--pod-ip <ip>', "this pod's IP; gRPC listens on it").env('POD_IP'))
    .option(
      '--listen <address>',
      'address gRPC listens on (default: the pod IP; 0.0.0.0 in a pod of its own, so port-forwards reach it)',
    )
    .option('--port <port>', 'gRPC port (0 picks a free one)', integerOption('--port'), 7070)
    .addOption(
      new Option(
        '--token-file <path>',
        'file holding the invoke token (or set ROOST_INVOKE_TOKEN)',
      ).env('ROOST_INVOKE_TOKEN_FILE'),
    )
    .option(
      '--data-dir <dir>',
      'code cache, function slots and logs (default: a directory under the system temp dir)',
    )
    .option(
      '--runtimes <list>',
      'runtimes to offer, comma-separated: nodejs, java (default: nodejs, plus java when a java launcher ($JAVA_HOME/bin/java or java on PATH) and the bridge jar (ROOST_JAVA_BRIDGE_JAR or the build of npm run build:java) are found)',
      listOption(['nodejs', 'java'] as const),
    )
    .option(
      '--warm-pool-size <n>',
      'idle Node.js processes kept per memory size (0 disables the pool)',
      integerOption('--warm-pool-size'),
      2,
    )
    .option(
      '--hibernate-after <duration>',
      'idle time before a Node.js function process is stopped (0 never)',
      durationOption,
      5 * 60_000,
    )
    .option(
      '--keep-unused-code <duration>',
      'how long code no Sandbox uses stays cached on disk',
      durationOption,
      30_000,
    )
    .option(
      '--node-overhead-mib <n>',
      'memory a Node.js process may use beyond memoryMiB',
      integerOption('--node-overhead-mib'),
      64,
    )
    .option(
      '--java-max-heap-mib <n>',
      "the JVM bridge's -Xmx, shared by every Java function of the pod (default: the JVM's choice, a quarter of the memory it sees)",
      integerOption('--java-max-heap-mib', 16),
    )
    .option(
      '--java-bridge-dir <dir>',
      "dial a JVM bridge run as a container of its own through this directory shared with it (bridge.sock, bridge.secret) instead of starting one (the chart's Java pools)",
    )
    .option(
      '--memory-mib <n>',
      'memory for Sandboxes (default: from pod limits or cgroup)',
      integerOption('--memory-mib', 1),
    )
    .option(
      '--cpu-millis <n>',
      'CPU for Sandboxes (default: from pod limits or cgroup)',
      integerOption('--cpu-millis', 1),
    )
    .option(
      '--max-sandboxes <n>',
      'most Sandboxes on this pod',
      integerOption('--max-sandboxes', 1),
    )
    .addOption(
      new Option(
        '--function-uids <mode>',
        'run each Node.js function process under a user id of its own (auto: when the sidecar is root or holds SETUID and SETGID; otherwise it warns and marks the pod roost.dev/isolation=weak)',
      )
        .choices(['auto', 'off'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--cgroups <mode>',
        'a cgroup per Node.js function process: hard memory limit, CPU weight, task limit (auto: where one can be made)',
      )
        .choices(['auto', 'off'])
        .default('auto'),
    )
    .option(
      '--function-uid-range <first-last>',
      'user ids for function processes (default 2000000-2065535)',
    )
    .option(
      '--uid-claims-dir <dir>',
      'where sidecars on one machine claim function user ids (default /run/roost/uids)',
    )
    .option(
      '--function-tmp-mib <n>',
      "size of a Node.js function's temporary directory: a bigger file fails to write (EFBIG), a fuller directory gets its process killed (TmpLimitExceeded)",
      integerOption('--function-tmp-mib', 1),
      512,
    )
    .option(
      '--drain-delay <duration>',
      'on SIGTERM, how long to keep serving after the pod reports not ready, so gateways stop sending first (the chart sets 3s)',
      durationOption,
      0,
    )
    .action(async (options: SidecarOptions) => {
      const missing = (['podName', 'podNamespace', 'podIp'] as const).filter((k) => !options[k]);
      if (missing.length > 0) {
        throw new RoostError(
          'ROOST_USAGE',
          `Cannot start the sidecar: set ${missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} (or POD_NAME, POD_NAMESPACE, POD_IP)`,
        );
      }
      const token = options.tokenFile
        ? readFileSync(options.tokenFile, 'utf8').trim()
        : process.env.ROOST_INVOKE_TOKEN;
      if (!token)
        throw new RoostError(
          'ROOST_USAGE',
          'Cannot start the sidecar: no invoke token; set ROOST_INVOKE_TOKEN or --token-file',
        );
      // Loaded here, not at the top: the user's verbs need none of the sidecar.
      const { startSidecar } = await import('../../sidecar/sidecar.ts');
      const { parseUidRange } = await import('../../sidecar/node/uid-allocator.ts');
      const runtimes = options.runtimes ?? (await defaultRuntimes());
      const sidecar = await startSidecar({
        podName: options.podName!,
        podNamespace: options.podNamespace!,
        podIP: options.podIp!,
        listenAddress: options.listen,
        port: options.port,
        kubeconfig: options.kubeconfig,
        token,
        dataDir:
          options.dataDir ??
          join(tmpdir(), 'roost-sidecar', `${options.podNamespace}-${options.podName}`),
        runtimes,
        warmPoolSize: options.warmPoolSize,
        hibernateAfterMs: options.hibernateAfter,
        nodeOverheadMiB: options.nodeOverheadMib,
        javaMaxHeapMiB: options.javaMaxHeapMib,
        javaBridgeDir: options.javaBridgeDir,
        keepUnusedCodeMs: options.keepUnusedCode,
        capacity: {
          memoryMiB: options.memoryMib,
          cpuMillis: options.cpuMillis,
          maxSandboxes: options.maxSandboxes,
        },
        functionUids: options.functionUids,
        cgroups: options.cgroups,
        functionUidRange: options.functionUidRange
          ? parseUidRange(options.functionUidRange)
          : undefined,
        uidClaimsDir: options.uidClaimsDir,
        functionTmpMiB: options.functionTmpMib,
        drainDelayMs: options.drainDelay,
      });
      // Printed for whoever started us (roost dev, tests): the port actually bound.
      console.log(`roost sidecar ready on ${options.podIp}:${sidecar.port}`);
      const stop = async () => {
        await sidecar.stop();
      };
      onShutdown(stop);
      exitWithParent(() => void stop().finally(() => process.exit(0)));
    });
}

/** nodejs always; java too when this machine can start the JVM bridge. Said on stderr, so that a pod without java shows why. */
async function defaultRuntimes(): Promise<Runtime[]> {
  const { javaAvailability } = await import('../../sidecar/java/java-availability.ts');
  const java = javaAvailability();
  console.error(
    java.available
      ? `roost sidecar: offering nodejs and java (${java.reason})`
      : `roost sidecar: offering nodejs only: ${java.reason}`,
  );
  return java.available ? ['nodejs', 'java'] : ['nodejs'];
}
