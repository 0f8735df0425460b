// Versions of one function for route and canary tests: each version is a
// template revision whose function answers its own version string (and can
// be told to fail a share of its requests), and a load loop that counts which
// revision answered each request by its x-roost-revision header. Free of
// vitest, so that bench/routes.ts uses the same versions and counting.
import type { KubeClient } from '../../kube/client.ts';
import { SandboxDeployments, SandboxEndpointsType } from '../../kube/api/resources.ts';
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { isNotFound } from '../../kube/errors.ts';

/**
 * Creates namespace/name at `version`, or moves it there (a new revision).
 * With failEvery N, every Nth request each Sandbox answers fails with a 502.
 */
export async function deployVersion(
  client: KubeClient,
  options: {
    namespace: string;
    name: string;
    version: string;
    replicas?: number;
    failEvery?: number;
    /** An event sink's URL (support/event-sink.ts): each invocation reports its event under its version. */
    sink?: string;
    /** spec.autoscaling, when the deployment is created. */
    autoscaling?: SandboxDeployment['spec']['autoscaling'];
  },
): Promise<void> {
  const source = `let n = 0;
export const handler = async (event) => {
  n++;
  if (process.env.SINK)
    await fetch(process.env.SINK + '/' + process.env.VERSION, { method: 'POST', body: JSON.stringify(event) });
  const every = Number(process.env.FAIL_EVERY ?? 0);
  if (every > 0 && n % every === 0) throw new Error('failing on purpose');
  return process.env.VERSION;
};`;
  const template: SandboxDeployment['spec']['template'] = {
    spec: {
      function: {
        runtime: 'nodejs',
        handler: 'index.handler',
        memoryMiB: 64,
        concurrency: 8,
        env: [
          { name: 'VERSION', value: options.version },
          { name: 'FAIL_EVERY', value: String(options.failEvery ?? 0) },
          ...(options.sink ? [{ name: 'SINK', value: options.sink }] : []),
        ],
        code: { inline: { files: { 'index.mjs': source } } },
      },
    },
  };
  const key = { namespace: options.namespace, name: options.name };
  try {
    await client.get(SandboxDeployments, key);
    await client.patch(SandboxDeployments, key, { spec: { template } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.create(SandboxDeployments, {
      metadata: { name: options.name, namespace: options.namespace },
      spec: {
        replicas: options.replicas ?? 1,
        revisionHistoryLimit: 0,
        template,
        ...(options.autoscaling ? { autoscaling: options.autoscaling } : {}),
      },
    });
  }
}

/** Waits until `revision` is the deployment's newest and has a ready endpoint. */
export async function waitForRevision(
  client: KubeClient,
  options: { namespace: string; name: string; revision: number; timeoutMs?: number },
): Promise<void> {
  const key = { namespace: options.namespace, name: options.name };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const deployment = await client.get(SandboxDeployments, key);
    if (deployment.status?.revision === options.revision) {
      const endpoints = await client.get(SandboxEndpointsType, key);
      if (
        endpoints.status?.endpoints?.some((e) => e.ready && e.revisionNumber === options.revision)
      )
        return;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out waiting for ${key.namespace}/${key.name} revision ${options.revision} to be ready`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RevisionCount {
  /** Answers per revision (x-roost-revision). */
  byRevision: Map<number, number>;
  /** Responses other than 200. */
  failed: number;
  /** 200s whose body was not "v<revision>" for the revision the header named (versions follow revisions here). */
  mismatched: number;
  /** With trackOrder: times a worker got an older revision after a newer one. */
  wentBack: number;
  /** Each request's start (ms since the run began), revision and status, in order of completion. */
  log: { at: number; revision: number | undefined; status: number }[];
}

/**
 * Sends `requests` GETs to `url`, `concurrency` at a time, and counts who
 * answered. A body of "vN" is expected from revision N (deployVersion's
 * versions follow revisions in these tests), else it counts as mismatched.
 */
export async function countRevisions(
  url: string,
  options: {
    requests: number;
    concurrency: number;
    trackOrder?: boolean;
    headers?: Record<string, string>;
    /** Stop early once this returns true. */
    until?: () => boolean;
  },
): Promise<RevisionCount> {
  const result: RevisionCount = {
    byRevision: new Map(),
    failed: 0,
    mismatched: 0,
    wentBack: 0,
    log: [],
  };
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    let newest = 0;
    while (next < options.requests && !options.until?.()) {
      next++;
      const at = performance.now() - started;
      let status = 0;
      let revision: number | undefined;
      try {
        const response = await fetch(url, { headers: options.headers });
        status = response.status;
        const header = response.headers.get('x-roost-revision');
        revision = header === null ? undefined : Number(header);
        const body = await response.text();
        if (status === 200 && revision !== undefined && body !== JSON.stringify(`v${revision}`))
          result.mismatched++;
      } catch {
        // A broken connection: counted as failed with status 0.
      }
      result.log.push({ at, revision, status });
      if (status !== 200) result.failed++;
      if (revision !== undefined) {
        result.byRevision.set(revision, (result.byRevision.get(revision) ?? 0) + 1);
        if (options.trackOrder) {
          if (revision < newest) result.wentBack++;
          newest = Math.max(newest, revision);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return result;
}
