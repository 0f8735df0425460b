// A private RabbitMQ broker for the queue-trigger tests and benchmarks:
// Debian's rabbitmq-server, started on free ports (AMQP, Erlang
// distribution, and a port mapper of its own) with its database, logs,
// plugin and feature-flag files and Erlang cookie in a temp directory,
// stopped by stop(). The Debian service unit is never used.
//
// `npm run setup:rabbitmq` installs the package (as root on Debian, with
// apt-get); elsewhere it names it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RoostError } from '../lib/errors.ts';
import { aptInstall, canAptInstall } from './apt.ts';
import { freePort } from '../lib/ports.ts';
import { startProcess, type ManagedProcess } from '../lib/process.ts';
import { awaitReady } from './await-ready.ts';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

export class MissingRabbitMQError extends RoostError {
  constructor() {
    super(
      'ROOST_NO_RABBITMQ',
      `Cannot start RabbitMQ: ${SERVER} is missing. Install it with \`sudo apt-get install -y rabbitmq-server\` (Debian), or run \`npm run setup:rabbitmq\` as root.`,
    );
  }
}

export class RabbitMQStartError extends RoostError {
  constructor(message: string) {
    super('ROOST_RABBITMQ_START', message);
  }
}

export interface RabbitMQBroker {
  /** amqp://guest:guest@127.0.0.1:<port> (guest may connect from loopback only). */
  url: string;
  port: number;
  process: ManagedProcess;
  /** Stops the broker and its port mapper, and removes its directory. */
  stop(): Promise<void>;
}

/** The user the broker runs as: Debian's script insists on `rabbitmq` when started by root. */
function brokerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'rabbitmq'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startRabbitMQ(
  options: { progress?: (line: string) => void; logFile?: string } = {},
): Promise<RabbitMQBroker> {
  if (!existsSync(SERVER)) throw new MissingRabbitMQError();
  const user = brokerUser();
  const dir = mkdtempSync(join(tmpdir(), 'roost-rabbitmq-'));
  for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  if (user) {
    // The broker's user must reach and write everything in its directory.
    for (const path of ['', 'home', 'mnesia', 'log', 'enabled_plugins'])
      chownSync(join(dir, path), user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const nodename = `roost-${randomBytes(4).toString('hex')}@localhost`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'),
    USER: user ? 'rabbitmq' : userInfo().username,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, 'feature_flags'),
  };
  options.progress?.(`rabbitmq: starting ${nodename} on 127.0.0.1:${port}`);
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const child = startProcess({
    name: 'rabbitmq-server',
    command: SERVER,
    env,
    cwd: dir,
    uid: user?.uid,
    gid: user?.gid,
    logFile: options.logFile,
    keepStderrLines: 30,
    onLine: (line) => {
      if (line.includes('Server startup complete')) ready();
    },
  });
  const stopEpmd = () =>
    spawnSync('/usr/bin/epmd', ['-port', String(epmdPort), '-kill'], { env, stdio: 'ignore' });
  const stop = async () => {
    // The script traps TERM and stops the node through rabbitmqctl; give it time.
    await child.stop(15_000);
    stopEpmd();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await awaitReady(child, started, {
      name: 'rabbitmq-server',
      timeoutMs: 60_000,
      error: (message) => new RabbitMQStartError(message),
    });
  } catch (err) {
    await stop();
    throw err;
  }
  options.progress?.(`rabbitmq: ready on 127.0.0.1:${port}`);
  return { url: `amqp://guest:guest@127.0.0.1:${port}`, port, process: child, stop };
}

/** `npm run setup:rabbitmq`: Debian's rabbitmq-server, installed without starting its service. */
export function setupRabbitMQ(): void {
  if (existsSync(SERVER) && existsSync(CTL)) {
    console.log(`rabbitmq: ${SERVER} is installed`);
    return;
  }
  if (!canAptInstall()) throw new MissingRabbitMQError();
  console.log('rabbitmq: installing rabbitmq-server with apt-get (its service is not started)');
  // RUNLEVEL=1 keeps invoke-rc.d from starting the Debian service on a
  // machine without a policy-rc.d that forbids it.
  aptInstall(['rabbitmq-server'], { code: 'ROOST_RABBITMQ_SETUP', env: { RUNLEVEL: '1' } });
  if (!existsSync(SERVER)) throw new MissingRabbitMQError();
  console.log(`rabbitmq: ${SERVER} installed`);
}

if (import.meta.main) {
  try {
    setupRabbitMQ();
  } catch (err) {
    if (!(err instanceof RoostError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
