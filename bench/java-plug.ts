// Plug latency of Java Sandboxes through a real sidecar into its running JVM
// bridge: from a Sandbox bound to the host pod to its Ready status seen by a
// watch, against a real kube-apiserver (started here). The jar comes from an
// immutable ConfigMap (read and verified on every plug) and from a url (its
// sha256 names the cached copy, so a plug after the first reads nothing); the
// url kind is also bound without the finalizer, which makes the sidecar add
// it with a write of its own (as for a Sandbox bound by hand), to show what
// the scheduler's bind carrying it saves; and a Node.js Sandbox on the same
// pod is plugged in the same rounds as the baseline: the same sidecar, watch
// and status write, a warm-pool process instead of a class loader. Part of
// `npm run bench:java`.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigMaps, Events, Namespaces } from '../kube/api/resources.ts';
import type { FunctionCode, Runtime, Sandbox } from '../kube/api/roost.ts';
import type { KubeClient } from '../kube/client.ts';
import { startControlPlane } from '../testenv/control-plane.ts';
import { HostPodKubelet } from '../testenv/host-pods.ts';
import { ReadyWatch, plugOnce } from './support/plug-timer.ts';
import { median, percentile } from './support/stats.ts';

const TINY = fileURLToPath(
  new URL('../runtime-java-bridge/fixtures/tiny/target/tiny.jar', import.meta.url),
);
const namespace = 'bench-java-plug';
/** Quiet time between plugs. */
const SETTLE_MS = 250;

interface PlugKind {
  name: string;
  runtime: Runtime;
  handler: string;
  code: FunctionCode;
  /** False: bind with podName alone, so the sidecar adds its finalizer with a write of its own. */
  finalizerInBind?: boolean;
}

export interface PlugResult {
  kind: string;
  /** Bind sent to Ready seen by a watch. */
  times: number[];
  /** Bind committed to Ready seen by a watch. */
  sinceCommit: number[];
  /** The sidecar's own part, as its Plugged Event says: from seeing the bound Sandbox to its status written. */
  sidecar: number[];
}

/** Plugs `plugs` Sandboxes of each kind, interleaved, after one warm-up plug of each; returns the times in ms. */
export async function benchJavaPlug(plugs: number): Promise<PlugResult[]> {
  console.error(`  plug: starting a control plane, a host pod offering nodejs and java`);
  const controlPlane = await startControlPlane({
    progress: (line) => console.error(`    ${line}`),
  });
  const client = controlPlane.client();
  const dir = mkdtempSync(join(tmpdir(), 'roost-bench-java-plug-'));
  const kubelet = new HostPodKubelet({
    kubeconfigPath: controlPlane.kubeconfigPath,
    token: randomBytes(16).toString('hex'),
    dir,
    env: { ROOST_LOG_LEVEL: 'warn' },
  });
  const jar = readFileSync(TINY);
  const server = createServer((_, res) => res.end(jar));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tiny.jar`;
  try {
    await client.create(Namespaces, { metadata: { name: namespace } });
    await client.create(ConfigMaps, {
      metadata: { name: 'tiny-jar', namespace },
      immutable: true,
      binaryData: { 'function.jar': jar.toString('base64') },
    });
    await kubelet.start();
    const host = await kubelet.addHostPod({
      name: 'java-plug',
      namespace,
      runtimes: ['nodejs', 'java'],
      sidecarArgs: ['--hibernate-after=0'],
    });
    const kinds: PlugKind[] = [
      {
        name: 'java, jar from a ConfigMap',
        runtime: 'java',
        handler: 'com.example.tiny.Tiny',
        code: { configMap: { name: 'tiny-jar' } },
      },
      {
        name: 'java, jar from a url (cached by sha256)',
        runtime: 'java',
        handler: 'com.example.tiny.Tiny',
        code: { url: { url, sha256: createHash('sha256').update(jar).digest('hex') } },
      },
      {
        name: 'java, url, finalizer added by the sidecar (as before)',
        runtime: 'java',
        handler: 'com.example.tiny.Tiny',
        code: { url: { url, sha256: createHash('sha256').update(jar).digest('hex') } },
        finalizerInBind: false,
      },
      {
        name: 'nodejs, inline code (baseline)',
        runtime: 'nodejs',
        handler: 'index.handler',
        code: { inline: { files: { 'index.mjs': 'export const handler = async (e) => e;' } } },
      },
    ];
    const watch = new ReadyWatch(client, namespace);
    await new Promise((r) => setTimeout(r, 300));
    const results: PlugResult[] = kinds.map((kind) => ({
      kind: kind.name,
      times: [],
      sinceCommit: [],
      sidecar: [],
    }));
    // Round 0 warms up (the first download, the JIT of the sidecar's plug path) and is not counted.
    for (let round = 0; round <= plugs; round++) {
      for (const [i, kind] of kinds.entries()) {
        const sandbox = unbound(`k${i}-${round}`, kind);
        const plug = await plugOnce(client, watch, sandbox, host.name, kind);
        if (round > 0) {
          results[i]!.times.push(plug.sinceBind);
          results[i]!.sinceCommit.push(plug.sinceCommit);
        }
        // Let the host settle (the warm pool refills a Node process after each Node plug,
        // ~100 ms of a core), so that no kind pays for the one before it.
        await new Promise((r) => setTimeout(r, SETTLE_MS));
      }
      if (round % 20 === 0 && round > 0) console.error(`  plug: ${round}/${plugs} rounds`);
    }
    await watch.stop();
    await collectSidecarTimes(client, results);
    return results;
  } finally {
    server.close();
    await kubelet.stop();
    client.close();
    await controlPlane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The sidecar's own plug time of each counted Sandbox, from the Plugged Event it recorded. */
async function collectSidecarTimes(client: KubeClient, results: PlugResult[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 1_000)); // the sidecar sends Events in the background
  const { items } = await client.list(Events, { namespace });
  for (const event of items) {
    const match = /^k(\d+)-(\d+)$/.exec(event.involvedObject.name ?? '');
    const ms = / in (\d+) ms$/.exec(event.message);
    if (event.reason !== 'Plugged' || !match || !ms || match[2] === '0') continue;
    results[Number(match[1])]?.sidecar.push(Number(ms[1]));
  }
}

function unbound(name: string, kind: PlugKind): Sandbox {
  return {
    metadata: { name, namespace },
    spec: { function: { runtime: kind.runtime, handler: kind.handler, code: kind.code } },
  };
}

export const PLUG_HEADER = [
  'Sandbox',
  'p50',
  'p99',
  'p50 ratio to Node.js',
  'p50 from the bind committed',
  "p50 of the sidecar's own part (its Plugged Event)",
];

/** Per kind: p50 and p99 from the bind sent, the p50 ratio to the last kind (the baseline), and the parts. */
export function plugRows(results: PlugResult[]): string[][] {
  const baseline = median(results.at(-1)!.times);
  return results.map(({ kind, times, sinceCommit, sidecar }) => [
    kind,
    median(times).toFixed(1),
    percentile(times, 99).toFixed(1),
    (median(times) / baseline).toFixed(2),
    median(sinceCommit).toFixed(1),
    sidecar.length ? median(sidecar).toFixed(0) : 'n/a',
  ]);
}
