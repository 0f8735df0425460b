// A private nats-server with JetStream for `roost dev` and the tests: a free
// port on 127.0.0.1, its store in a directory of the caller's (a temp dir by
// default), stopped by stop() and killed with its parent if that dies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lib/ports.ts';
import { startProcess, type Exit, type ManagedProcess } from '../lib/process.ts';
import { awaitReady } from './await-ready.ts';
import { ensureNats } from './binaries.ts';
import { ControlPlaneError } from './control-plane.ts';

export interface NatsServer {
  url: string;
  pid: number | undefined;
  /** Where JetStream keeps its streams. */
  storeDir: string;
  process: ManagedProcess;
  /** Resolves when the server exits, for whatever reason. */
  exited: Promise<Exit>;
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** JetStream's store; a new temp dir (removed on stop) by default. */
  storeDir?: string;
  logFile?: string;
  progress?: (line: string) => void;
  /** Listen here (a restart that clients must find again); a free port by default. */
  port?: number;
  /**
   * Clients must present this token (Roost's invoke token): functions can
   * open network connections, and must not read or write the queue. It goes
   * in a config file only this user can read, never on the command line.
   */
  token?: string;
}

export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  const binary = await ensureNats(options.progress);
  const ownStore = !options.storeDir;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'roost-nats-'));
  const port = options.port ?? (await freePort());
  const args = [
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-js',
    '-sd',
    storeDir,
    '--server_name',
    'roost-dev',
  ];
  let configDir: string | undefined;
  if (options.token) {
    configDir = mkdtempSync(join(tmpdir(), 'roost-nats-conf-'));
    const config = join(configDir, 'nats.conf');
    writeFileSync(config, `authorization { token: ${JSON.stringify(options.token)} }\n`, {
      mode: 0o600,
    });
    args.push('-c', config);
  }
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  const child = startProcess({
    name: 'nats-server',
    command: binary,
    args,
    env: { ...process.env, ROOST_EXIT_WITH_PARENT: '1' },
    logFile: options.logFile,
    keepStderrLines: 20,
    onLine: (line) => {
      if (line.includes('Server is ready')) ready();
    },
  });
  try {
    await awaitReady(child, listening, {
      name: 'nats-server',
      timeoutMs: 30_000,
      error: (message) => new ControlPlaneError(message),
    });
  } catch (err) {
    await child.stop(2000);
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid,
    storeDir,
    process: child,
    exited: child.exited,
    async stop() {
      await child.stop(5000);
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    },
  };
}
