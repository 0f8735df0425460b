// Issue 4 end to end with real host pods: real sidecar processes running real
// functions, `roost controller` and `roost gateway` as processes, driven with
// kubectl as a user would.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import {
  Pods,
  SandboxDeployments,
  SandboxEndpointsType,
  Sandboxes,
} from '../kube/api/resources.ts';
import type { Sandbox, SandboxDeployment } from '../kube/api/roost.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace(client, 'workloads');
  system = await startRoostSystem({ namespace });
});

afterAll(async () => {
  await system?.stop();
});

function manifest(
  name: string,
  replicas: number,
  greeting: string,
  extra: Partial<SandboxDeployment['spec']> = {},
): string {
  return stringify({
    apiVersion: 'roost.dev/v1alpha1',
    kind: 'SandboxDeployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      ...extra,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: 64,
            concurrency: 4,
            code: {
              inline: {
                files: {
                  'index.mjs': `export const handler = async () => ({ greeting: '${greeting}', pid: process.pid });`,
                },
              },
            },
          },
        },
      },
    },
  });
}

const apply = async (yaml: string) => {
  const result = await kubectl(['apply', '-f', '-'], { input: yaml });
  expect(result.stderr).toBe('');
  return result;
};

const sandboxesOf = async (name: string): Promise<Sandbox[]> =>
  (await client.list(Sandboxes, { namespace, labelSelector: `roost.dev/deployment=${name}` }))
    .items;

const readySandboxes = async (name: string) =>
  (await sandboxesOf(name)).filter(
    (s) =>
      !s.metadata.deletionTimestamp &&
      s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );

async function waitForReadyCount(
  name: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Sandbox[]> {
  return eventually(
    async () => {
      const ready = await readySandboxes(name);
      const all = (await sandboxesOf(name)).filter((s) => !s.metadata.deletionTimestamp);
      return ready.length === count && all.length === count ? ready : undefined;
    },
    { what: `${count} Ready Sandboxes of ${name}`, timeoutMs },
  );
}

describe('deployments on real host pods', () => {
  test('kubectl apply of 3 replicas gives 3 Ready Sandboxes on 3 distinct pods and 3 endpoints', async () => {
    await apply(manifest('spread', 3, 'hi'));
    const ready = await waitForReadyCount('spread', 3);
    expect(new Set(ready.map((s) => s.spec.podName)).size).toBe(3);
    const endpoints = await eventually(
      async () => {
        const object = await client.get(SandboxEndpointsType, { namespace, name: 'spread' });
        return object.status?.readyCount === 3 ? object : undefined;
      },
      { what: 'SandboxEndpoints with 3 addresses' },
    );
    expect(new Set(endpoints.status!.endpoints!.map((e) => e.address)).size).toBe(3);
    const get = await kubectl(['get', 'sbxdeploy', 'spread', '-n', namespace]);
    expect(get.stdout).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nspread\s+3\/3\s+3\s+3\s+\S+\n$/,
    );
    // And the function answers, from different processes.
    const pids = new Set<number>();
    for (let i = 0; i < 12; i++)
      pids.add(((await (await fetch(system.functionUrl('spread'))).json()) as { pid: number }).pid);
    expect(pids.size).toBeGreaterThan(1);
  });

  test('kubectl scale to 5 and to 0', async () => {
    expect(
      (await kubectl(['scale', 'sbxdeploy/spread', '-n', namespace, '--replicas=5'])).code,
    ).toBe(0);
    await waitForReadyCount('spread', 5);
    expect(
      (await kubectl(['scale', 'sbxdeploy/spread', '-n', namespace, '--replicas=0'])).code,
    ).toBe(0);
    await eventually(async () => (await sandboxesOf('spread')).length === 0, {
      what: 'no Sandboxes left',
      timeoutMs: 30_000,
    });
  });

  test('a rollout with maxUnavailable 0 never fails an invocation, and a rollback restores the template', async () => {
    const strategy = {
      strategy: {
        type: 'RollingUpdate' as const,
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      },
    };
    await apply(manifest('rolling', 3, 'v1', strategy));
    await waitForReadyCount('rolling', 3);
    await eventually(async () => (await fetch(system.functionUrl('rolling'))).status === 200, {
      what: 'the first answer',
    });

    const failures: string[] = [];
    const greetings = new Set<string>();
    let running = true;
    const traffic = (async () => {
      while (running) {
        const response = await fetch(system.functionUrl('rolling')).catch((err: Error) => err);
        if (response instanceof Error) failures.push(response.message);
        else if (response.status !== 200)
          failures.push(`HTTP ${response.status}: ${await response.text()}`);
        else greetings.add(((await response.json()) as { greeting: string }).greeting);
      }
    })();
    await apply(manifest('rolling', 3, 'v2', strategy));
    await eventually(
      async () => {
        const d = await client.get(SandboxDeployments, { namespace, name: 'rolling' });
        const ready = await readySandboxes('rolling');
        return (
          d.status?.updatedReplicas === 3 &&
          d.status.replicas === 3 &&
          ready.length === 3 &&
          greetings.has('v2')
        );
      },
      { what: 'the rollout to v2', timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await traffic;
    expect(failures).toEqual([]);
    expect([...greetings].sort()).toEqual(['v1', 'v2']);

    await kubectl(['annotate', 'sbxdeploy', 'rolling', '-n', namespace, 'roost.dev/rollback-to=0']);
    await eventually(
      async () => {
        const response = await fetch(system.functionUrl('rolling'));
        return (
          response.status === 200 &&
          ((await response.json()) as { greeting: string }).greeting === 'v1' &&
          (await readySandboxes('rolling')).every((s) =>
            (s.spec.function.code.inline?.files['index.mjs'] ?? '').includes("'v1'"),
          )
        );
      },
      { what: 'the rollback to v1', timeoutMs: 60_000 },
    );
  });
});

describe('host pods lost', () => {
  test("SIGKILL of a host pod's sidecar moves its Sandboxes to other pods within 30 s", async () => {
    await apply(manifest('survivor', 2, 'alive'));
    const before = await waitForReadyCount('survivor', 2);
    const victimPod = before[0]!.spec.podName!;
    const victim = system.hosts.kubelet.get(namespace, victimPod)!;
    const killedAt = Date.now();
    victim.process.kill('SIGKILL');
    const after = await eventually(
      async () => {
        const ready = await readySandboxes('survivor');
        return ready.length === 2 && ready.every((s) => s.spec.podName !== victimPod)
          ? ready
          : undefined;
      },
      { what: 'Sandboxes off the killed pod', timeoutMs: 40_000, intervalMs: 250 },
    ).catch(async (err: Error) => {
      const state = (await sandboxesOf('survivor')).map(
        (s) =>
          `${s.metadata.name} pod=${s.spec.podName} phase=${s.status?.phase} reason=${s.status?.reason} deleting=${Boolean(s.metadata.deletionTimestamp)}`,
      );
      throw new Error(
        `${err.message}\n${state.join('\n')}\n${system.controller.log().split('\n').slice(-30).join('\n')}`,
      );
    });
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(after.every((s) => s.spec.podName !== victimPod)).toBe(true);
  });

  test('deleting a host pod moves its Sandboxes sooner', async () => {
    await system.addHost({ name: 'host-4' });
    await system.addHost({ name: 'host-5' });
    const before = await waitForReadyCount('survivor', 2);
    const victimPod = before[0]!.spec.podName!;
    const deletedAt = Date.now();
    expect(
      (await kubectl(['delete', 'pod', victimPod, '-n', namespace, '--wait=false'])).code,
    ).toBe(0);
    await eventually(
      async () => {
        const ready = await readySandboxes('survivor');
        return ready.length === 2 && ready.every((s) => s.spec.podName !== victimPod);
      },
      { what: 'Sandboxes off the deleted pod', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(Date.now() - deletedAt).toBeLessThan(15_000);
  });
});

test('a pool too small gives Unschedulable with a clear message, and a new host pod takes the Sandbox', async () => {
  await apply(
    stringify({
      apiVersion: 'roost.dev/v1alpha1',
      kind: 'SandboxDeployment',
      metadata: { name: 'big', namespace },
      spec: {
        replicas: 1,
        template: {
          spec: {
            function: {
              runtime: 'nodejs',
              handler: 'index.handler',
              memoryMiB: 3000,
              code: {
                inline: { files: { 'index.mjs': 'export const handler = async () => "big";' } },
              },
            },
          },
        },
      },
    }),
  );
  const pending = await eventually(
    async () => {
      const [sandbox] = await sandboxesOf('big');
      const scheduled = sandbox?.status?.conditions?.find((c) => c.type === 'Scheduled');
      return scheduled?.status === 'False' ? { sandbox: sandbox!, scheduled } : undefined;
    },
    { what: 'Unschedulable', timeoutMs: 20_000 },
  );
  expect(pending.scheduled.reason).toBe('Unschedulable');
  expect(pending.scheduled.message).toMatch(
    /^0\/\d+ host pods fit: \d+ insufficient memory \(need 3000 MiB, most free \d+ MiB\)/,
  );
  const describe = await kubectl([
    'describe',
    'sbx',
    pending.sandbox.metadata.name!,
    '-n',
    namespace,
  ]);
  expect(describe.stdout).toContain('Unschedulable');

  await system.addHost({ name: 'host-big', memoryMiB: 4096 });
  const [placed] = await waitForReadyCount('big', 1);
  expect(placed!.spec.podName).toBe(`${namespace}-host-big`);
  expect(
    (await client.get(Pods, { namespace, name: placed!.spec.podName! })).metadata.labels?.[
      'roost.dev/host'
    ],
  ).toBe('true');
});
