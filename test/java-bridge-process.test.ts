// sidecar/java/bridge-process.ts, the module the sidecar runs the JVM bridge
// with: it starts the real jar, restarts it when it dies (telling the caller),
// stops it without leaving a process, and the bridge dies with its parent even
// when the parent is killed outright. Start failures carry stable codes.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import {
  JavaBridge,
  JavaBridgeClient,
  JavaBridgeJarMissingError,
  JavaBridgeStartError,
  defaultBridgeJar,
  type RestartEvent,
} from '../sidecar/java/bridge-process.ts';
import { startProcess } from '../lib/process.ts';
import {
  alive,
  fixtureJar,
  invokeJson,
  requireBuiltJava,
  resultOf,
  startTestBridge,
} from './support/java-bridge.ts';
import { eventually } from './support/cluster.ts';

// Without the built jars every test here would fail obscurely: fail the file at once, with the fix.
requireBuiltJava();

const started: JavaBridge[] = [];

afterEach(async () => {
  for (const bridge of started.splice(0)) await bridge.stop();
});

async function start(options: Parameters<typeof startTestBridge>[0] = {}): Promise<JavaBridge> {
  const bridge = await startTestBridge(options);
  started.push(bridge);
  return bridge;
}

test('the bridge serves on a Unix socket once ready, and stop leaves no process and no socket behind', async () => {
  const bridge = await start();
  const pid = bridge.pid!;
  expect(bridge.client.target).toBe(`unix:${bridge.socketPath}`);
  expect(bridge.startupMs).toBeGreaterThan(0);
  expect(await bridge.client.health()).toMatchObject({ serving: true, sandboxes: 0 });
  expect(alive(pid)).toBe(true);
  started.pop();
  await bridge.stop();
  expect(alive(pid)).toBe(false);
  expect(existsSync(dirname(bridge.socketPath))).toBe(false);
});

test('a bridge that dies is restarted, and the caller is told so that it can reload its Sandboxes', async () => {
  const restarts: RestartEvent[] = [];
  const bridge = await start({ onRestart: (event) => void restarts.push(event) });
  const first = bridge.pid!;
  const hello = {
    sandboxId: 'restart/hello',
    jarPath: fixtureJar('hello'),
    handler: 'com.example.Greeter',
  };
  await bridge.client.load(hello);

  process.kill(first, 'SIGKILL');
  await eventually(() => restarts.length === 1, {
    what: 'the restart callback',
    timeoutMs: 30_000,
  });
  expect(restarts[0]).toMatchObject({ restarts: 1, exit: { signal: 'SIGKILL' } });
  expect(bridge.restarts).toBe(1);
  expect(bridge.pid).not.toBe(first);
  expect(alive(first)).toBe(false);

  // The same client reaches the new bridge, which has none of the old one's Sandboxes.
  await bridge.client.waitForReady(10_000);
  const lost = await invokeJson(bridge.client, hello.sandboxId, { name: 'x' }).catch(
    (err: unknown) => err,
  );
  expect(lost).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_NOT_FOUND' });
  await bridge.client.load(hello);
  expect(
    resultOf(await invokeJson(bridge.client, hello.sandboxId, { name: 'back' })),
  ).toMatchObject({
    message: 'hello back!',
  });
});

test('the bridge exits when its parent is killed outright, and the next bridge removes the directory left behind', async () => {
  // A parent of its own, so that it can be SIGKILLed: it starts a bridge and prints the bridge's pid.
  const module = fileURLToPath(new URL('../sidecar/java/bridge-process.ts', import.meta.url));
  const script = `
    const { JavaBridge } = await import(${JSON.stringify(module)});
    const bridge = await JavaBridge.start({ warmup: 'off' });
    console.log('bridge-pid ' + bridge.pid + ' ' + bridge.socketPath);
    setInterval(() => {}, 1000);
  `;
  let socketDir: string | undefined;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const bridgePid = await new Promise<number>((resolve, reject) => {
      parent.once('exit', (code) => reject(new Error(`the parent exited early (code ${code})`)));
      createInterface({ input: parent.stdout! }).on('line', (line) => {
        const match = /^bridge-pid (\d+) (\S+)$/.exec(line);
        if (!match) return;
        // The killed parent cannot remove the directory it made for the socket.
        socketDir = dirname(match[2]!);
        resolve(Number(match[1]));
      });
    });
    expect(alive(bridgePid)).toBe(true);
    parent.kill('SIGKILL');
    await eventually(() => !alive(bridgePid), {
      what: `the bridge (pid ${bridgePid}) to exit`,
      timeoutMs: 15_000,
    });
    // The next bridge on this machine sweeps it: its owner is gone. (A bridge
    // another test file starts meanwhile may sweep it first; either way it goes.)
    const next = await start();
    expect(existsSync(socketDir!)).toBe(false);
    expect(existsSync(dirname(next.socketPath))).toBe(true);
  } finally {
    parent.kill('SIGKILL');
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  }
});

test('a missing jar fails with ROOST_JAVA_BRIDGE_JAR_MISSING and says how to build it', async () => {
  const error = await JavaBridge.start({ jarPath: '/nonexistent/roost-java-bridge.jar' }).catch(
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(JavaBridgeJarMissingError);
  expect(error).toMatchObject({ code: 'ROOST_JAVA_BRIDGE_JAR_MISSING' });
  expect((error as Error).message).toContain('npm run build:java');
});

test.each([
  {
    what: 'a java that does not exist',
    options: { javaCommand: '/nonexistent/bin/java' },
    output: /ENOENT/,
  },
  {
    what: 'a JVM that refuses its options',
    options: { jvmArgs: ['-XX:+NoSuchOption'] },
    output: /NoSuchOption/,
  },
])(
  '$what fails the start with ROOST_JAVA_BRIDGE_START and the output that explains it',
  async ({ options, output }) => {
    const error = await JavaBridge.start(options).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JavaBridgeStartError);
    expect(error).toMatchObject({ code: 'ROOST_JAVA_BRIDGE_START' });
    expect((error as Error).message).toMatch(output);
  },
);

test('without a socket path the bridge serves on loopback TCP, with the same secret check', async () => {
  let onReady: (target: string) => void = () => {};
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  const child = startProcess({
    name: 'java bridge on TCP',
    command: 'java',
    args: ['-jar', defaultBridgeJar(), '--port', '0', '--warmup', 'off'],
    env: { ...process.env, ROOST_BRIDGE_SECRET: 'tcp-secret' },
    onLine: (line) => {
      const match = /^roost-java-bridge ready (127\.0\.0\.1:\d+) \d+$/.exec(line);
      if (match) onReady(match[1]!);
    },
  });
  const clients: JavaBridgeClient[] = [];
  try {
    const target = await Promise.race([
      ready,
      child.exited.then((exit) =>
        Promise.reject(new Error(`the bridge exited: ${JSON.stringify(exit)}`)),
      ),
    ]);
    const client = new JavaBridgeClient(target, 'tcp-secret');
    const stranger = new JavaBridgeClient(target, 'not-the-secret');
    clients.push(client, stranger);
    expect(await client.health()).toMatchObject({ serving: true });
    expect(await stranger.health().catch((err: unknown) => err)).toMatchObject({
      code: 'ROOST_JAVA_UNAUTHENTICATED',
    });
  } finally {
    for (const client of clients) client.close();
    await child.stop();
  }
});
