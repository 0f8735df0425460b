// `roost dev` (and `npm start`): the whole of Roost on this machine in one
// command. It prints each step as it goes (building Kubernetes the first time
// takes minutes), writes .roost/kubeconfig and .roost/dev.json, prints what to
// try, prints a line with "ready", and stops everything on Ctrl-C or SIGTERM.
import { Command } from 'commander';
import { join, relative } from 'node:path';
import { acquireInstanceLock, AlreadyRunningError } from '../../lib/instance-lock.ts';
import { formatDuration } from '../../lib/duration.ts';
import { RoostError } from '../../lib/errors.ts';
import { onShutdown } from '../../lib/shutdown.ts';
import { mintLoginTicket } from '../../console/login-tickets.ts';
import {
  DEV_ALLOWED_NAMESPACES,
  DEV_NAMESPACE,
  DEV_NODE,
  removeDevState,
  STATE_DIR,
  writeDevState,
} from '../dev/state.ts';
import { allowedNamespacesOption, integerOption } from '../options.ts';
import { currentSurroundings, readDevState } from '../context.ts';

interface DevOptions {
  port: number;
  hosts: number;
  hostMemory: number;
  examples: boolean;
  java: 'auto' | 'on' | 'off';
  allowedNamespaces: string;
}

/** How to call the roost command from `cwd`: the launcher in bin/, which runs it on the project's Node 24. */
function roostCommand(cwd: string): string {
  const launcher = relative(cwd, join(import.meta.dirname, '..', '..', 'bin', 'roost'));
  return launcher.startsWith('.') || launcher.startsWith('/') ? launcher : `./${launcher}`;
}

export function devCommand(): Command {
  return new Command('dev')
    .description(
      'Run a complete local Roost: control plane, controller, gateway, host pods and the examples.',
    )
    .option('--port <port>', 'gateway port on 127.0.0.1', integerOption('--port', 1), 8080)
    .option('--hosts <n>', 'host pods to start', integerOption('--hosts', 1), 3)
    .option(
      '--host-memory <MiB>',
      'memory of each host pod',
      integerOption('--host-memory', 64),
      2048,
    )
    .option('--no-examples', 'do not deploy the example functions')
    .option(
      '--allowed-namespaces <list>',
      'namespaces whose Sandboxes the host pods take: "*" (a dev cluster has one tenant) or "a,b"; Java functions of allowed namespaces share a JVM',
      allowedNamespacesOption,
      DEV_ALLOWED_NAMESPACES,
    )
    .option(
      '--java <mode>',
      'offer the java runtime: auto (when java is installed), on, off',
      'auto',
    )
    .action(async (options: DevOptions) => {
      if (!['auto', 'on', 'off'].includes(options.java))
        throw new RoostError(
          'ROOST_USAGE',
          `--java must be auto, on or off, not "${options.java}"`,
        );
      const cwd = process.cwd();
      const started = Date.now();
      let release: () => void;
      try {
        release = acquireInstanceLock(join(cwd, STATE_DIR, 'dev.lock'), 'roost dev');
      } catch (err) {
        if (err instanceof AlreadyRunningError) {
          const gateway = readDevState(currentSurroundings())?.gateway?.url;
          throw new RoostError(
            err.code,
            `roost dev is already running here (pid ${err.pid}${gateway ? `, gateway ${gateway}` : ''}). Use it, or stop it with Ctrl-C in its terminal or \`kill ${err.pid}\`.`,
          );
        }
        throw err;
      }
      const log = (line: string) => console.log(line);
      log(`roost dev: starting a local Roost in ${cwd} (state in ${STATE_DIR}/)`);
      let stopping = false;
      let stop: () => Promise<void> = async () => release();
      onShutdown(async (signal) => {
        stopping = true;
        log(`${signal}: stopping roost dev ...`);
        await stop();
        log('roost dev stopped; no process left behind.');
      });
      // Loaded only when run: it brings the whole system's code with it.
      const { startLocalRoost } = await import('../dev/local-roost.ts');
      const roost = await startLocalRoost({
        cwd,
        gatewayPort: options.port,
        hosts: options.hosts,
        hostMemoryMiB: options.hostMemory,
        allowedNamespaces: options.allowedNamespaces,
        examples: options.examples,
        java: options.java,
        progress: log,
        onStateChange: (state) => {
          if (!stopping) writeDevState(state, cwd);
        },
      }).catch((err: unknown) => {
        release();
        throw err;
      });
      stop = async () => {
        removeDevState(cwd);
        await roost.stop();
        release();
      };
      if (stopping) return;
      writeDevState(roost.state, cwd);

      const kubeconfig = relative(cwd, join(cwd, roost.state.kubeconfig)) || roost.state.kubeconfig;
      const gateway = roost.state.gateway.url;
      log('');
      log('Try:');
      log(`  export KUBECONFIG=${kubeconfig}`);
      log('  kubectl get sbxdeploy,sbx,sbxep -A');
      log(`  kubectl get pods -n ${DEV_NAMESPACE} -o wide`);
      for (const example of roost.examples) {
        for (const line of example.tryLines)
          log(`  ${line.replaceAll('http://127.0.0.1:8080', gateway)}`);
      }
      // The gateway's own endpoints answer only holders of the invoke token.
      log(`  curl -H "authorization: Bearer $(jq -r .token .roost/dev.json)" ${gateway}/metrics`);
      log(
        `  kubectl delete pod host-1 -n ${DEV_NAMESPACE}        # its Sandboxes move to the other host pods`,
      );
      const roostCli = roostCommand(cwd);
      log(`  ${roostCli} get hosts                            # what each host pod holds`);
      log(
        `  ${roostCli} host add                             # another host pod (node ${DEV_NODE})`,
      );
      log('');
      const consoleState = roost.state.console;
      if (consoleState) {
        log(`Console: ${consoleState.url}`);
        log(
          `  one-time login link (works once, within 10 minutes; \`${roostCli} console --open\` makes another):`,
        );
        log(
          `  ${consoleState.url}/login?ticket=${mintLoginTicket(consoleState.loginKey, Date.now(), 600_000)}`,
        );
      }
      log('');
      log(
        `roost dev is ready in ${formatDuration(Date.now() - started)}: gateway ${gateway}, ${consoleState ? `console ${consoleState.url}, ` : ''}kubeconfig ${kubeconfig}, ${STATE_DIR}/dev.json. Press Ctrl-C to stop.`,
      );
    });
}
