// Every component's /metrics, scraped as Prometheus would after a short,
// known workload: two Sandboxes scheduled, plugged, invoked, hibernated and
// one resumed. The values must be what happened, not merely present.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { KubeClient } from '../kube/client.ts';
import { CONTROLLER_LEASE_NAME } from '../kube/well-known.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { createTrivialDeployment } from './support/deployments.ts';
import { scrape, sum, has, type Sample } from './support/metrics.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const HIBERNATE_AFTER_MS = 1500;

let client: KubeClient;
let system: RoostSystem;
let namespace: string;

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'metrics');
  system = await startRoostSystem({
    namespace,
    hosts: [1, 2].map((i) => ({
      name: `host-${i}`,
      sidecarArgs: [`--hibernate-after=${HIBERNATE_AFTER_MS}ms`],
    })),
  });
}, 120_000);

afterAll(async () => {
  await system?.stop();
  client?.close();
});

const sidecarUrls = () => system.hosts.kubelet.list().map((pod) => pod.metricsUrl!);

/** The samples of every host pod's sidecar, as one list. */
async function scrapeSidecars(): Promise<Sample[]> {
  return (await Promise.all(sidecarUrls().map((url) => scrape(url, system.hosts.token)))).flat();
}

test('/metrics of the controller and the sidecar refuse a caller without the token', async () => {
  const urls = [
    await eventually(() => system.controller.metricsUrl(), { what: 'the controller metrics URL' }),
    ...sidecarUrls(),
  ];
  expect(urls.every(Boolean)).toBe(true);
  for (const url of urls) {
    expect((await fetch(url)).status, url).toBe(401);
    const wrong = await fetch(url, { headers: { authorization: 'Bearer guess' } });
    expect(wrong.status, url).toBe(401);
  }
});

test('after two Sandboxes are scheduled, plugged, invoked, hibernated and one resumed, the series say so', async () => {
  await createTrivialDeployment(client, { namespace, name: 'counted', replicas: 2 });
  await eventually(async () => (await fetch(system.functionUrl('counted'))).status === 200, {
    what: 'counted to answer',
    timeoutMs: 60_000,
  });
  // Both replicas plugged and idle long enough to hibernate.
  const sidecarsAfterPlug = await eventually(
    async () => {
      const samples = await scrapeSidecars();
      return sum(samples, 'roost_sidecar_sandboxes', { runtime: 'nodejs' }) === 2 &&
        sum(samples, 'roost_sidecar_hibernations_total') === 2
        ? samples
        : undefined;
    },
    { what: 'two plugged Sandboxes, both hibernated', timeoutMs: 30_000 },
  );
  // One invocation wakes one of them.
  const resumedBefore = sum(sidecarsAfterPlug, 'roost_sidecar_resumes_total');
  expect((await fetch(system.functionUrl('counted'))).status).toBe(200);
  const sidecars = await scrapeSidecars();

  expect(sum(sidecars, 'roost_sidecar_plugs_total', { runtime: 'nodejs', result: 'plugged' })).toBe(
    2,
  );
  expect(sum(sidecars, 'roost_sidecar_plugs_total', { result: 'failed' })).toBe(0);
  expect(sum(sidecars, 'roost_sidecar_plug_duration_seconds_count', { runtime: 'nodejs' })).toBe(2);
  // The same inline code on two pods: fetched once on each, never found cached on a pod that had not seen it.
  expect(sum(sidecars, 'roost_sidecar_code_fetches_total', { source: 'inline' })).toBe(2);
  expect(sum(sidecars, 'roost_sidecar_code_cache_hits_total')).toBe(0);
  expect(sum(sidecars, 'roost_sidecar_resumes_total')).toBe(resumedBefore + 1);
  expect(sum(sidecars, 'roost_sidecar_function_restarts_total')).toBe(0);
  expect(has(sidecars, 'roost_sidecar_warm_pool_processes')).toBe(true);
  expect(sum(sidecars, 'roost_workqueue_adds_total', { name: 'sandboxes' })).toBeGreaterThanOrEqual(
    2,
  );
  expect(has(sidecars, 'roost_sidecar_process_resident_memory_bytes')).toBe(true);

  const controller = await scrape(system.controller.metricsUrl()!, system.hosts.token);
  expect(
    sum(controller, 'roost_leader_status', { lease: `${namespace}/${CONTROLLER_LEASE_NAME}` }),
  ).toBe(1);
  expect(sum(controller, 'roost_scheduler_attempts_total', { result: 'bound' })).toBe(2);
  expect(sum(controller, 'roost_scheduler_attempts_total', { result: 'error' })).toBe(0);
  expect(sum(controller, 'roost_scheduler_creation_to_bind_seconds_count')).toBe(2);
  for (const name of ['deployment', 'replicaset', 'endpoints']) {
    expect(sum(controller, 'roost_workqueue_adds_total', { name }), name).toBeGreaterThan(0);
    expect(
      sum(controller, 'roost_reconcile_total', { controller: name, result: 'success' }),
      name,
    ).toBeGreaterThan(0);
    expect(
      sum(controller, 'roost_reconcile_duration_seconds_count', { controller: name }),
      name,
    ).toBe(sum(controller, 'roost_reconcile_total', { controller: name }));
    expect(
      sum(controller, 'roost_workqueue_work_duration_seconds_count', { name }),
      name,
    ).toBeGreaterThan(0);
  }
  expect(sum(controller, 'roost_reconcile_errors_total')).toBe(
    sum(controller, 'roost_reconcile_total', { result: 'error' }) +
      sum(controller, 'roost_reconcile_total', { result: 'terminal' }),
  );
  expect(has(controller, 'roost_controller_process_cpu_seconds_total')).toBe(true);

  // The gateway serves its own series and the process's on its /metrics, with the same token.
  const gateway = await scrape(`${system.gateway.url}/metrics`, system.hosts.token);
  expect(
    sum(gateway, 'roost_gateway_requests_total', { namespace, function: 'counted', code: '200' }),
  ).toBeGreaterThanOrEqual(2);
}, 120_000);
