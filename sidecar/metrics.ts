// The sidecar's series (lib/metrics.ts): what a platform team asks first of
// a slow host pod. Plugs and how long they took, code fetched or found in the
// cache, function restarts, hibernations and resumes, the warm pool, and the
// JVM bridge's loads, unloads and heap. Gauges of what the pod holds now are
// read when scraped (sidecar.ts wires them).
import { counter, gauge, histogram } from '../lib/metrics.ts';

export const plugs = counter({
  name: 'roost_sidecar_plugs_total',
  help: 'Sandboxes plugged into this host pod, by runtime and result (plugged, failed).',
  labelNames: ['runtime', 'result'],
});

export const plugDuration = histogram({
  name: 'roost_sidecar_plug_duration_seconds',
  help: 'From taking a Sandbox to its function being ready, code fetch included, by runtime.',
  labelNames: ['runtime'],
});

export const codeFetches = counter({
  name: 'roost_sidecar_code_fetches_total',
  help: 'Code fetched and installed into the cache, by source (inline, url, configMap).',
  labelNames: ['source'],
});

export const codeCacheHits = counter({
  name: 'roost_sidecar_code_cache_hits_total',
  help: 'Plugs whose code was in the cache already, by source.',
  labelNames: ['source'],
});

export const functionRestarts = counter({
  name: 'roost_sidecar_function_restarts_total',
  help: 'Functions started again after a crash, by runtime.',
  labelNames: ['runtime'],
});

export const hibernations = counter({
  name: 'roost_sidecar_hibernations_total',
  help: 'Idle Node.js functions whose process was stopped (the function stays plugged).',
});

export const resumes = counter({
  name: 'roost_sidecar_resumes_total',
  help: 'Hibernated Node.js functions started again for an invocation.',
});

export const bridgeLoads = counter({
  name: 'roost_sidecar_bridge_loads_total',
  help: 'Java functions loaded into the JVM bridge (a class loader each).',
});

export const bridgeUnloads = counter({
  name: 'roost_sidecar_bridge_unloads_total',
  help: 'Java functions unloaded from the JVM bridge.',
});

export const bridgeRestarts = counter({
  name: 'roost_sidecar_bridge_restarts_total',
  help: 'Times the JVM bridge died and was started again.',
});

/** Gauges of what the pod holds, read from `sources` at each scrape. */
export function watchSidecar(sources: {
  sandboxes: () => Record<string, number>;
  warmPool: () => number;
  bridgeHeapBytes?: () => Promise<number | undefined>;
}): void {
  gauge({
    name: 'roost_sidecar_sandboxes',
    help: 'Sandboxes plugged now, by runtime.',
    labelNames: ['runtime'],
    collect() {
      this.reset();
      for (const [runtime, count] of Object.entries(sources.sandboxes()))
        this.labels(runtime).set(count);
    },
  });
  gauge({
    name: 'roost_sidecar_warm_pool_processes',
    help: 'Pre-started Node.js processes waiting to be specialised into a function.',
    collect() {
      this.set(sources.warmPool());
    },
  });
  const heap = sources.bridgeHeapBytes;
  if (heap)
    gauge({
      name: 'roost_sidecar_bridge_heap_used_bytes',
      help: "The JVM bridge's heap in use, as it reports it.",
      async collect() {
        const bytes = await heap().catch(() => undefined);
        if (bytes !== undefined) this.set(bytes);
      },
    });
}
