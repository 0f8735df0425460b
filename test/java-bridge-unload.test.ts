// Unloading releases a function completely: after 200 load, invoke and unload
// cycles of a function that does everything that usually pins a class loader
// (a JDBC driver, a shutdown hook, thread locals, a context class loader on a
// shared pool thread, a thread of its own, a POJO in the JSON mapper), every
// one of its loaders is collected and Metaspace stays flat. The bridge watches
// the loaders of unloaded Sandboxes through weak references and reports how
// many the GC has not collected; the GC is run with the JDK's jcmd.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BridgeStats, JavaBridge } from '../sidecar/java/bridge-process.ts';
import {
  fixtureJar,
  fullGc,
  invokeJson,
  resultOf,
  startTestBridge,
  requireBuiltJava,
} from './support/java-bridge.ts';

// Without the built jars every test here would fail obscurely: fail the file at once, with the fix.
requireBuiltJava();

const CYCLES = 200;
const WARM_UP_CYCLES = 20;
/** Metaspace may grow this much over the 200 cycles; 200 leaked loaders of this function would take ~6 MiB. */
const METASPACE_BOUND_BYTES = 256 * 1024;

let bridge: JavaBridge;
let jar: string;

beforeAll(async () => {
  // C2's profiling data (MethodData of the bridge's own hot methods) lives in
  // Metaspace too and grows for minutes as the JIT warms up, whatever the
  // functions do; C1 alone keeps none, so what is left is the functions' share.
  bridge = await startTestBridge({ jvmArgs: ['-XX:TieredStopAtLevel=1'] });
  jar = fixtureJar('unloadable');
});

afterAll(async () => {
  await bridge?.stop();
});

async function cycle(i: number): Promise<void> {
  const sandboxId = `unload/pinning-${i}`;
  await bridge.client.load({ sandboxId, jarPath: jar, handler: 'com.example.unload.Pinning' });
  const receipt = resultOf(
    await invokeJson(bridge.client, sandboxId, { item: 'tea', quantity: i }),
  );
  expect(receipt).toEqual({ item: 'tea', quantity: i, database: 'jdbc:fake:registered' });
  const unloaded = await bridge.client.unload({ sandboxId, graceMs: 1_000 });
  expect(unloaded.stoppedThreads).toEqual(['pinning-waiter']);
}

/** Stats after full GCs, once the uncollected count has settled (reference processing is asynchronous). */
async function statsAfterGc(): Promise<BridgeStats> {
  let stats = await bridge.client.stats();
  for (let attempt = 0; attempt < 5; attempt++) {
    await fullGc(bridge.pid!);
    stats = await bridge.client.stats();
    if (stats.uncollectedLoaders === 0) return stats;
    await new Promise((r) => setTimeout(r, 200));
  }
  return stats;
}

test(
  `after ${CYCLES} load and unload cycles every loader is collected and Metaspace stays flat`,
  { timeout: 240_000 },
  async () => {
    for (let i = 0; i < WARM_UP_CYCLES; i++) await cycle(i);
    const before = await statsAfterGc();
    expect(before.uncollectedLoaders).toBe(0);

    for (let i = WARM_UP_CYCLES; i < WARM_UP_CYCLES + CYCLES; i++) await cycle(i);
    const after = await statsAfterGc();

    expect(after.loadedSandboxes).toBe(0);
    expect(after.uncollectedLoaders, 'loaders of unloaded Sandboxes still reachable after GC').toBe(
      0,
    );
    // Each cycle defines at least the handler, its two POJOs and the driver, all unloaded again.
    expect(after.unloadedClasses - before.unloadedClasses).toBeGreaterThanOrEqual(CYCLES * 4);
    expect(after.metaspaceUsedBytes - before.metaspaceUsedBytes).toBeLessThan(
      METASPACE_BOUND_BYTES,
    );
  },
);

test('a loader that something outside the function still holds is reported as uncollected', async () => {
  const sandboxId = 'unload/leaker';
  await bridge.client.load({ sandboxId, jarPath: jar, handler: 'com.example.unload.Leaker' });
  expect(resultOf(await invokeJson(bridge.client, sandboxId, {}))).toBe('leaked');
  await bridge.client.unload({ sandboxId });
  const stats = await statsAfterGc();
  expect(stats.uncollectedLoaders).toBe(1);
});
