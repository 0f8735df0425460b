// The JVM bridge's numbers, in one run on this machine:
//   1. start-up of the bridge (spawn to ready line) and of a pod's first Java
//      Sandbox (spawn to the first invocation answered), plain and with the
//      start-up optimisation (AppCDS archive, warm-up), interleaved;
//   2. Load latency into a running bridge, beside a Health round trip (the
//      gRPC floor any call pays) and a warm Invoke;
//   3. memory per loaded function with 200 small functions in one JVM;
//   4. plug latency of Java Sandboxes through a real sidecar (bound to Ready
//      seen by a watch), beside a Node.js Sandbox on the same pod.
// Run with `npm run bench:java` after `npm run build:java`. SECTIONS=plug (or
// any of startup,load,memory,plug) runs only those; PLUGS sets the plug count.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  JavaBridge,
  defaultBridgeJar,
  type JavaBridgeOptions,
} from '../sidecar/java/bridge-process.ts';
import { PLUG_HEADER, benchJavaPlug, plugRows } from './java-plug.ts';
import { median, percentile } from './support/stats.ts';

const STARTS_PER_CONFIG = Number(process.env.STARTS ?? 7);
const LOADS = Number(process.env.LOADS ?? 200);
const FUNCTIONS = 200;
const PLUGS = Number(process.env.PLUGS ?? 60);
const SECTIONS = new Set((process.env.SECTIONS ?? 'startup,load,memory,plug').split(','));
const TINY = fileURLToPath(
  new URL('../runtime-java-bridge/fixtures/tiny/target/tiny.jar', import.meta.url),
);
const HELLO = fileURLToPath(
  new URL('../runtime-java-bridge/fixtures/hello/target/hello.jar', import.meta.url),
);
const MiB = 1024 * 1024;

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(0);
}

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
}

function payload(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

// 1. Start-up ---------------------------------------------------------------

interface StartConfig {
  name: string;
  options: JavaBridgeOptions;
}

const START_CONFIGS: StartConfig[] = [
  { name: 'plain: java -jar, no warm-up', options: { classDataSharing: false, warmup: 'off' } },
  { name: 'AppCDS archive', options: { classDataSharing: true, warmup: 'off' } },
  {
    name: 'AppCDS + warm-up before ready (default)',
    options: { classDataSharing: true, warmup: 'before' },
  },
  {
    name: 'AppCDS + warm-up + C1 only (TieredStopAtLevel=1)',
    options: { classDataSharing: true, warmup: 'before', jvmArgs: ['-XX:TieredStopAtLevel=1'] },
  },
];

interface StartRun {
  ready: number;
  connected: number;
  load: number;
  invoke: number;
  total: number;
}

async function startOnce(config: StartConfig): Promise<StartRun> {
  const spawned = performance.now();
  const bridge = await JavaBridge.start(config.options);
  const connected = performance.now() - spawned;
  try {
    const [, load] = await timed(() =>
      bridge.client.load({
        sandboxId: 'bench/first',
        jarPath: HELLO,
        handler: 'com.example.Greeter',
      }),
    );
    const [answer, invoke] = await timed(() =>
      bridge.client.invoke({
        sandboxId: 'bench/first',
        requestId: 'first',
        payload: payload({ name: 'first' }),
      }),
    );
    if (answer.error !== 'FUNCTION_ERROR_NONE')
      throw new Error(`first invoke failed: ${answer.errorMessage}`);
    return { ready: bridge.startupMs, connected, load, invoke, total: performance.now() - spawned };
  } finally {
    await bridge.stop();
  }
}

async function benchStartup(): Promise<void> {
  const results = new Map(START_CONFIGS.map((c) => [c.name, [] as StartRun[]]));
  // Interleaved, so that a noisy moment on the machine hits every configuration alike.
  for (let i = 0; i < STARTS_PER_CONFIG; i++)
    for (const config of START_CONFIGS) results.get(config.name)!.push(await startOnce(config));
  const of = (name: string, key: keyof StartRun) => median(results.get(name)!.map((r) => r[key]));
  const plain = START_CONFIGS[0]!.name;
  const ratio = (name: string, key: keyof StartRun) =>
    `${ms(of(name, key))} (${(of(name, key) / of(plain, key)).toFixed(2)})`;
  table(
    `Bridge start-up, median of ${STARTS_PER_CONFIG} starts each (ms; ratio to plain)`,
    [
      'configuration',
      'spawn → ready line',
      'spawn → connected (first Health)',
      'first Load',
      'first Invoke',
      'spawn → first invoke answered',
    ],
    START_CONFIGS.map((c) => [
      c.name,
      ratio(c.name, 'ready'),
      ratio(c.name, 'connected'),
      ms(of(c.name, 'load')),
      ms(of(c.name, 'invoke')),
      ratio(c.name, 'total'),
    ]),
  );
  console.log(
    '(first Load and Invoke: com.example.Greeter from hello.jar, a POJO handler in a fat jar)',
  );
}

// 2. Load latency -------------------------------------------------------------

async function benchLoad(): Promise<void> {
  const bridge = await JavaBridge.start();
  try {
    // A Health round trip before each Load: the floor of any call, measured in the same moments.
    const health: number[] = [];
    const rows: string[][] = [];
    for (const [name, jar, handler] of [
      ['Load tiny.jar (Map handler)', TINY, 'com.example.tiny.Tiny'],
      ['Load hello.jar (POJO handler, fat jar)', HELLO, 'com.example.Greeter'],
    ] as const) {
      const client: number[] = [];
      const reported: number[] = [];
      for (let i = 0; i < LOADS; i++) {
        const sandboxId = `bench/${handler}-${i}`;
        health.push((await timed(() => bridge.client.health()))[1]);
        const [response, elapsed] = await timed(() =>
          bridge.client.load({ sandboxId, jarPath: jar, handler }),
        );
        client.push(elapsed);
        reported.push(response.loadMs);
        await bridge.client.unload({ sandboxId });
      }
      rows.push([
        name,
        ms(median(client)),
        ms(percentile(client, 99)),
        `${ms(median(reported))} / ${ms(percentile(reported, 99))}`,
      ]);
    }
    rows.unshift([
      'Health round trip (gRPC floor)',
      ms(median(health)),
      ms(percentile(health, 99)),
      '',
    ]);
    await bridge.client.load({
      sandboxId: 'bench/warm',
      jarPath: HELLO,
      handler: 'com.example.Greeter',
    });
    const invokes: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const [, elapsed] = await timed(() =>
        bridge.client.invoke({
          sandboxId: 'bench/warm',
          requestId: `w${i}`,
          payload: payload({ name: 'w' }),
        }),
      );
      invokes.push(elapsed);
    }
    rows.push([
      'Invoke a loaded function (Greeter)',
      ms(median(invokes)),
      ms(percentile(invokes, 99)),
      '',
    ]);
    table(
      `Load into a running bridge, ${LOADS} loads each, each followed by its unload (ms)`,
      ['call', 'p50', 'p99', 'inside the bridge p50 / p99'],
      rows,
    );
  } finally {
    await bridge.stop();
  }
}

// 3. Memory per function ------------------------------------------------------

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function fullGc(pid: number): void {
  execFileSync(process.env.JAVA_HOME ? `${process.env.JAVA_HOME}/bin/jcmd` : 'jcmd', [
    String(pid),
    'GC.run',
  ]);
}

async function benchMemory(): Promise<void> {
  const bridge = await JavaBridge.start();
  try {
    const pid = bridge.pid!;
    // One function loaded and called first, so that the bridge's own code for
    // loading and invoking is in memory before the baseline is taken.
    await bridge.client.load({
      sandboxId: 'bench/baseline',
      jarPath: TINY,
      handler: 'com.example.tiny.Tiny',
    });
    await bridge.client.invoke({
      sandboxId: 'bench/baseline',
      requestId: 'b',
      payload: payload({}),
    });
    fullGc(pid);
    const before = { rss: rssBytes(pid), stats: await bridge.client.stats() };
    for (let i = 0; i < FUNCTIONS; i++) {
      const sandboxId = `bench/fn-${i}`;
      await bridge.client.load({ sandboxId, jarPath: TINY, handler: 'com.example.tiny.Tiny' });
      await bridge.client.invoke({ sandboxId, requestId: `r${i}`, payload: payload({ i }) });
    }
    fullGc(pid);
    const after = { rss: rssBytes(pid), stats: await bridge.client.stats() };
    const heap = after.stats.heapUsedBytes - before.stats.heapUsedBytes;
    const metaspace = after.stats.metaspaceUsedBytes - before.stats.metaspaceUsedBytes;
    const rss = after.rss - before.rss;
    const per = (bytes: number) => `${(bytes / FUNCTIONS / 1024).toFixed(0)} KiB`;
    table(
      `Memory for ${FUNCTIONS} loaded functions (tiny.jar, each in its own loader, each called once) in one JVM, after a full GC`,
      ['measure', 'growth', 'per function'],
      [
        ['RSS', `${(rss / MiB).toFixed(1)} MiB`, per(rss)],
        ['heap used', `${(heap / MiB).toFixed(1)} MiB`, per(heap)],
        ['Metaspace used', `${(metaspace / MiB).toFixed(1)} MiB`, per(metaspace)],
        ['heap + Metaspace', `${((heap + metaspace) / MiB).toFixed(1)} MiB`, per(heap + metaspace)],
      ],
    );
    console.log(
      `\n(loaded sandboxes: ${after.stats.loadedSandboxes}; target: at most 3 MB per function)`,
    );
  } finally {
    await bridge.stop();
  }
}

// 4. Plug latency through the sidecar -------------------------------------------

async function benchPlug(): Promise<void> {
  const results = await benchJavaPlug(PLUGS);
  table(
    `Plug latency through the sidecar into its running bridge: bound to Ready seen by a watch, ${PLUGS} plugs of each kind, interleaved (ms)`,
    PLUG_HEADER,
    plugRows(results),
  );
  console.log('\n(target: Java plug p50 <= 10 ms)');
}

for (const jar of [defaultBridgeJar(), TINY, HELLO]) {
  if (!existsSync(jar)) {
    console.error(`${jar} is missing: run \`npm run build:java\` first.`);
    process.exit(2);
  }
}
console.log(
  `JVM bridge benchmark: ${new Date().toISOString()}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
if (SECTIONS.has('startup')) await benchStartup();
if (SECTIONS.has('load')) await benchLoad();
if (SECTIONS.has('memory')) await benchMemory();
if (SECTIONS.has('plug')) await benchPlug();
