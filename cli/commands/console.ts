// `roost console`: the web console. Without --open it is the component (a
// Deployment in the chart, a process of `roost dev`): it serves the console
// and prints "roost console ready on <url>". With --open it is the user's
// verb: it makes a one-time login link for a running console, prints it, and
// opens it in a browser where there is one.
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Secrets } from '../../kube/api/resources.ts';
import { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { CONSOLE_LOGIN_KEY, CONSOLE_LOGIN_SECRET } from '../../kube/well-known.ts';
import { RoostError, errorMessage } from '../../lib/errors.ts';
import { exitWithParent } from '../../lib/parent-watch.ts';
import { onShutdown } from '../../lib/shutdown.ts';
import { mintLoginTicket } from '../../console/login-tickets.ts';
import {
  currentSurroundings,
  loadKubeConfig,
  readDevState,
  resolveKubeconfig,
} from '../context.ts';
import { durationOption, integerOption } from '../options.ts';

interface ConsoleFlags {
  open?: boolean;
  url?: string;
  host: string;
  port: number;
  kubeconfig?: string;
  tokenFile?: string;
  loginKeyFile?: string;
  namespace?: string;
  systemNamespace: string;
  scrapeInterval: number;
  secureCookie?: boolean;
}

export const DEFAULT_CONSOLE_PORT = 8090;

export function consoleCommand(): Command {
  return new Command('console')
    .description(
      'Serve the web console (packing, functions, logs, live); with --open, print a one-time login link for it and open it.',
    )
    .option('--open', 'print a one-time login link for a running console and open it in a browser')
    .option('--url <url>', "with --open: the console's address (default: the one `roost dev` runs)")
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(
      '--port <port>',
      'port to listen on (0 picks a free one)',
      integerOption('--port'),
      DEFAULT_CONSOLE_PORT,
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig file (default: KUBECONFIG, .roost/, ~/.kube/config or in-cluster)',
    )
    .addOption(
      new Option(
        '--token-file <path>',
        'file holding the invoke token (or set ROOST_INVOKE_TOKEN)',
      ).env('ROOST_INVOKE_TOKEN_FILE'),
    )
    .addOption(
      new Option(
        '--login-key-file <path>',
        'file holding the key that signs login links (or set ROOST_CONSOLE_LOGIN_KEY)',
      ).env('ROOST_CONSOLE_LOGIN_KEY_FILE'),
    )
    .option('--namespace <namespace>', 'show only this namespace (default: every namespace)')
    .addOption(
      new Option(
        '--system-namespace <namespace>',
        "namespace of the controller's and gateways' Leases and of the login key's Secret",
      )
        .env('POD_NAMESPACE')
        .default('roost-system'),
    )
    .option(
      '--scrape-interval <duration>',
      "how often to read the gateways' and sidecars' figures",
      durationOption,
      5000,
    )
    .option('--secure-cookie', 'mark the session cookie Secure (the console is reached over HTTPS)')
    .action(async (flags: ConsoleFlags) => {
      if (flags.open) return openConsole(flags);
      await serveConsole(flags);
    });
}

async function serveConsole(flags: ConsoleFlags): Promise<void> {
  const token = readSecretFlag(
    flags.tokenFile,
    'ROOST_INVOKE_TOKEN',
    'the invoke token',
    '--token-file',
  );
  const loginKey = readSecretFlag(
    flags.loginKeyFile,
    'ROOST_CONSOLE_LOGIN_KEY',
    'the login key',
    '--login-key-file',
  );
  if (flags.scrapeInterval < 500)
    throw new RoostError(
      'ROOST_USAGE',
      `--scrape-interval must be at least 500ms, not ${flags.scrapeInterval}ms`,
    );
  const { createLogger } = await import('../../lib/log.ts');
  const { startConsole } = await import('../../console/server.ts');
  const client = KubeClient.load(flags.kubeconfig, { fieldManager: 'roost-console' });
  const running = await startConsole({
    client,
    host: flags.host,
    port: flags.port,
    token,
    loginKey,
    namespace: flags.namespace,
    systemNamespace: flags.systemNamespace,
    scrapeIntervalMs: flags.scrapeInterval,
    secureCookie: flags.secureCookie ?? false,
    log: createLogger('console'),
  }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE'
      ? new RoostError(
          'ROOST_CONSOLE_PORT_IN_USE',
          `Cannot start the console: port ${flags.port} is in use; choose another with --port`,
        )
      : err;
  });
  console.log(`roost console ready on ${running.url}`);
  const stop = async () => {
    await running.stop();
    client.close();
  };
  onShutdown(stop);
  exitWithParent(() => void stop().finally(() => process.exit(0)));
}

/** A one-time login link for a running console: printed, and opened where a browser can be. */
async function openConsole(flags: ConsoleFlags): Promise<void> {
  const where = currentSurroundings();
  const dev = readDevState(where);
  const url = flags.url ?? dev?.console?.url;
  if (!url)
    throw new RoostError(
      'ROOST_USAGE',
      'Cannot open the console: no console address; pass --url (for a cluster, after `kubectl port-forward -n roost-system svc/roost-console 8090`), or run `roost dev` in this directory',
    );
  let key =
    flags.loginKeyFile || process.env.ROOST_CONSOLE_LOGIN_KEY
      ? readSecretFlag(
          flags.loginKeyFile,
          'ROOST_CONSOLE_LOGIN_KEY',
          'the login key',
          '--login-key-file',
        )
      : dev?.console?.loginKey;
  key ??= await loginKeyFromSecret(flags, where);
  const link = `${url.replace(/\/$/, '')}/login?ticket=${mintLoginTicket(key)}`;
  console.log(`Open the Roost console (the link works once, within a minute):\n  ${link}`);
  openInBrowser(link);
}

async function loginKeyFromSecret(
  flags: ConsoleFlags,
  where: ReturnType<typeof currentSurroundings>,
): Promise<string> {
  const client = new KubeClient(loadKubeConfig(resolveKubeconfig(flags.kubeconfig, where)));
  try {
    const secret = await client.get(Secrets, {
      namespace: flags.systemNamespace,
      name: CONSOLE_LOGIN_SECRET,
    });
    const value = secret.data?.[CONSOLE_LOGIN_KEY];
    if (value) return Buffer.from(value, 'base64').toString('utf8').trim();
  } catch (err) {
    if (!isNotFound(err))
      throw new RoostError(
        'ROOST_CONSOLE_LOGIN_KEY',
        `Cannot read the console's login key from Secret ${flags.systemNamespace}/${CONSOLE_LOGIN_SECRET}: ${errorMessage(err)} (only those who may read it may make login links)`,
      );
  } finally {
    client.close();
  }
  throw new RoostError(
    'ROOST_CONSOLE_LOGIN_KEY',
    `Cannot make a login link: no Secret ${flags.systemNamespace}/${CONSOLE_LOGIN_SECRET} with key ${CONSOLE_LOGIN_KEY}`,
  );
}

function openInBrowser(link: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY && process.platform === 'linux') return;
  const opener =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [link], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

function readSecretFlag(file: string | undefined, env: string, what: string, flag: string): string {
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new RoostError('ROOST_USAGE', `Cannot read ${what} from ${file}: ${errorMessage(err)}`);
    }
  }
  const value = process.env[env];
  if (!value)
    throw new RoostError(
      'ROOST_USAGE',
      `Cannot start the console: no ${what}; set ${env} or ${flag}`,
    );
  return value;
}
