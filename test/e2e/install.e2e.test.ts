// Roost installed as a user installs it: `helm install` of deploy/chart/roost
// with the images `npm run images` builds, on two real nodes, in a namespace
// that enforces the Pod Security "restricted" level. Then functions deployed
// with kubectl and invoked through the gateway's Service, and the rights of
// each component checked from the outside.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRealCluster, type RealCluster } from '../../testenv/nodes/cluster.ts';
import { buildImages, imagesValues } from '../../testenv/images.ts';
import { getOnce } from './support/http.ts';
import { eventually, helmFor, kubectlFor, pods, type Kubectl } from './support/kubectl.ts';

const SYSTEM = 'roost-system';
const REPO = join(import.meta.dirname, '..', '..');
const CHART = join(REPO, 'deploy', 'chart', 'roost');

/** bin/roost as a user runs it: given a kubeconfig and nothing else. */
function runRoost(
  args: string[],
  options: { cwd: string; kubeconfig: string },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Pod addresses are reachable from this machine; a user's laptop is not so
    // lucky, so the CLI is made to go through the API server as it would there.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: options.kubeconfig,
      ROOST_DIAL: 'api-server',
    };
    delete env.ROOST_GATEWAY;
    delete env.ROOST_INVOKE_TOKEN;
    execFile(
      join(REPO, 'bin', 'roost'),
      args,
      { cwd: options.cwd, env, timeout: 180_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`roost ${args.join(' ')} failed (${err.message}):\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}
const APPS = 'e2e-apps';

/**
 * Requests one after another, each on a new connection (a Service balances
 * connections), until stopped: what a light, steady client sees.
 */
function steadyLoad(url: string): { stop(): Promise<{ sent: number; failures: string[] }> } {
  let running = true;
  let sent = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      sent++;
      try {
        const response = await getOnce(url);
        if (response.status !== 200)
          failures.push(`${response.status} ${response.body.slice(0, 200)}`);
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { sent, failures };
    },
  };
}

const functions = `
apiVersion: v1
kind: Namespace
metadata: { name: ${APPS} }
---
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata: { name: hello, namespace: ${APPS} }
spec:
  replicas: 2
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        memoryMiB: 64
        code:
          inline:
            files:
              index.mjs: |
                export const handler = async (event, context) => ({
                  message: 'Hello, ' + (event.queryStringParameters?.name ?? 'world') + '!',
                  requestId: context.awsRequestId,
                });
---
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata: { name: snoop, namespace: ${APPS} }
spec:
  replicas: 1
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        memoryMiB: 64
        code:
          inline:
            files:
              index.mjs: |
                import { readFileSync } from 'node:fs';
                // A function that tries to take its sidecar's credentials.
                export const handler = async () => {
                  const tried = {};
                  for (const file of ['/var/run/secrets/kubernetes.io/serviceaccount/token', '/var/run/roost/invoke/token']) {
                    try { readFileSync(file); tried[file] = 'read'; } catch (err) { tried[file] = err.code ?? String(err); }
                  }
                  return tried;
                };
`;

describe('helm install of Roost on two real nodes', () => {
  let cluster: RealCluster;
  let kubectl: Kubectl;
  let helm: Kubectl;
  let gatewayUrl: string;

  beforeAll(async () => {
    const progress = (line: string) => console.error(`[e2e] ${line}`);
    const images = await buildImages({ progress });
    cluster = await startRealCluster({ nodes: 2, progress });
    for (const image of images) await cluster.importImage(image.archive);
    kubectl = kubectlFor(cluster.kubeconfigPath);
    helm = await helmFor(cluster.kubeconfigPath);
    const values = join(cluster.dir, 'images-values.yaml');
    writeFileSync(values, imagesValues(images));
    const pools = join(cluster.dir, 'pools-values.yaml');
    writeFileSync(
      pools,
      // One pool offering both runtimes: the roost-java image, the JVM bridge beside the sidecar.
      `pools:\n  - { name: mixed, runtimes: [nodejs, java], replicas: 2, memory: 1Gi, cpu: 500m, maxSandboxes: 32, allowedNamespaces: [${APPS}] }\n`,
    );
    // As a platform team would: the namespace enforces "restricted" before anything lands.
    await kubectl(['create', 'namespace', SYSTEM]);
    await kubectl(['label', 'namespace', SYSTEM, 'pod-security.kubernetes.io/enforce=restricted']);
    await helm([
      'install',
      'roost',
      CHART,
      '-n',
      SYSTEM,
      '-f',
      values,
      '-f',
      pools,
      // The nodes here cannot pull the NATS image: events are left out of this install.
      '--set',
      'events.nats.enabled=false',
      '--wait',
      '--timeout=180s',
    ]);
    const ip = (
      await kubectl([
        'get',
        'service',
        'roost-gateway',
        '-n',
        SYSTEM,
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    gatewayUrl = `http://${ip}`;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('every component runs in the restricted namespace: 2 controllers, 2 gateways, 2 ready host pods', async () => {
    const running = await eventually('all Roost pods ready', async () => {
      const list = await pods(kubectl, SYSTEM, 'app.kubernetes.io/name=roost');
      return list.length === 6 && list.every((p) => p.ready) ? list : undefined;
    });
    expect(running).toHaveLength(6);
    const hosts = await pods(kubectl, SYSTEM, 'roost.dev/host=true');
    expect(new Set(hosts.map((p) => p.node))).toEqual(new Set(['node-1', 'node-2']));
  });

  test('a Node function deployed with kubectl answers through the gateway Service', async () => {
    await kubectl(['apply', '-f', '-'], { input: functions });
    await kubectl([
      'wait',
      '--for=condition=Available',
      `sandboxdeployment/hello`,
      '-n',
      APPS,
      '--timeout=90s',
    ]);
    const answer = await eventually('an answer from hello', async () => {
      const response = await getOnce(`${gatewayUrl}/fn/${APPS}/hello?name=Roost`);
      return response.status === 200 ? response : undefined;
    });
    expect(JSON.parse(answer.body)).toMatchObject({ message: 'Hello, Roost!' });
  });

  test("a function cannot read its sidecar's service-account token or the invoke token", async () => {
    await kubectl([
      'wait',
      '--for=condition=Available',
      'sandboxdeployment/snoop',
      '-n',
      APPS,
      '--timeout=90s',
    ]);
    const response = await eventually('an answer from snoop', async () => {
      const r = await getOnce(`${gatewayUrl}/fn/${APPS}/snoop`);
      return r.status === 200 ? r : undefined;
    });
    const tried = JSON.parse(response.body) as Record<string, string>;
    expect(Object.values(tried)).toHaveLength(2);
    for (const outcome of Object.values(tried)) expect(outcome).not.toBe('read');
  });

  test('a token bound to one host pod cannot change a Sandbox bound to another, nor read Secrets', async () => {
    const sandboxes = JSON.parse(
      await kubectl([
        'get',
        'sandboxes',
        '-n',
        APPS,
        '-l',
        'roost.dev/deployment=hello',
        '-o',
        'json',
      ]),
    ) as { items: { metadata: { name: string }; spec: { podName?: string } }[] };
    const [first] = sandboxes.items;
    const hosts = await pods(kubectl, SYSTEM, 'roost.dev/host=true');
    const other = hosts.find((h) => h.name !== first!.spec.podName)!;
    const uid = (
      await kubectl(['get', 'pod', other.name, '-n', SYSTEM, '-o', 'jsonpath={.metadata.uid}'])
    ).trim();
    // The token a sidecar in `other` holds: bound to that pod.
    const token = (
      await kubectl([
        'create',
        'token',
        'roost-host',
        '-n',
        SYSTEM,
        '--bound-object-kind=Pod',
        `--bound-object-name=${other.name}`,
        `--bound-object-uid=${uid}`,
      ])
    ).trim();
    const asSidecar = (args: string[]) => kubectl([`--token=${token}`, ...args]);
    await expect(
      asSidecar(['annotate', 'sandbox', first!.metadata.name, '-n', APPS, 'roost.dev/probe=1']),
    ).rejects.toThrow(new RegExp(`host pod ${other.name} may only change Sandboxes bound to it`));
    await expect(asSidecar(['get', 'secrets', '-n', SYSTEM])).rejects.toThrow(/forbidden/i);
    // A token not bound to any pod is refused outright.
    const unbound = (await kubectl(['create', 'token', 'roost-host', '-n', SYSTEM])).trim();
    await expect(
      kubectl([
        `--token=${unbound}`,
        'annotate',
        'sandbox',
        first!.metadata.name,
        '-n',
        APPS,
        'roost.dev/probe=1',
      ]),
    ).rejects.toThrow(/must be bound to its pod/);
  });

  test('the roost CLI with only a kubeconfig: deploy, invoke, logs, stats, get hosts, rollout history', async () => {
    // A directory of the user's own: no .roost/dev.json, no gateway URL, no token file.
    const cwd = mkdtempSync(join(tmpdir(), 'roost-cli-'));
    const roost = (args: string[]) => runRoost(args, { cwd, kubeconfig: cluster.kubeconfigPath });
    // A function of the user's own that logs, so that `roost logs` has its line to show.
    mkdirSync(join(cwd, 'greet'));
    writeFileSync(
      join(cwd, 'greet', 'index.mjs'),
      `export const handler = async (event) => {
        const name = event.queryStringParameters?.name ?? 'world';
        console.log('greeting ' + name);
        return { message: 'Hello, ' + name + '!' };
      };\n`,
    );
    await roost(['deploy', join(cwd, 'greet'), '--name', 'greet', '-n', APPS, '--memory', '64']);
    const invoked = await roost(['invoke', 'greet', '-n', APPS, '--http', '--path', '/?name=CLI']);
    expect(JSON.parse(invoked.stdout)).toMatchObject({ message: 'Hello, CLI!' });
    const requestId = /request id: (\S+)/.exec(invoked.stderr)?.[1];
    expect(requestId).toBeTruthy();
    const logs = await eventually('the invocation in roost logs', async () => {
      const out = await roost(['logs', 'greet', '-n', APPS, '--request-id', requestId!]);
      if (!out.stdout.includes(requestId!))
        throw new Error(
          `roost logs printed ${JSON.stringify(out.stdout)} ${JSON.stringify(out.stderr)}`,
        );
      return out.stdout;
    });
    expect(logs).toMatch(new RegExp(`${requestId}.*greeting CLI`));
    const stats = JSON.parse(
      (await roost(['stats', 'greet', '-n', APPS, '-o', 'json'])).stdout,
    ) as {
      total: { invocations: number };
    };
    expect(stats.total.invocations).toBeGreaterThanOrEqual(1);
    const hosts = (await roost(['get', 'hosts'])).stdout;
    for (const host of await pods(kubectl, SYSTEM, 'roost.dev/host=true'))
      expect(hosts).toContain(host.name);
    expect((await roost(['rollout', 'history', 'greet', '-n', APPS])).stdout).toMatch(/\b1\b/);
  });

  test('a Java function deployed with kubectl answers through the gateway Service', async () => {
    await kubectl([
      'create',
      'configmap',
      'java-hello-code',
      '-n',
      APPS,
      `--from-file=function.jar=${join(REPO, 'examples', 'java-hello', 'target', 'java-hello.jar')}`,
    ]);
    await kubectl([
      'apply',
      '-n',
      APPS,
      '-f',
      join(REPO, 'examples', 'java-hello', 'deployment.yaml'),
    ]);
    await kubectl([
      'wait',
      '--for=condition=Available',
      'sandboxdeployment/java-hello',
      '-n',
      APPS,
      '--timeout=120s',
    ]);
    const answer = await eventually('an answer from java-hello', async () => {
      const response = await getOnce(`${gatewayUrl}/fn/${APPS}/java-hello?name=Ada`);
      return response.status === 200 ? response : undefined;
    });
    expect(answer.body).toContain('Ada');
  });

  test('a function scaled to zero answers its first request through the gateway', async () => {
    await kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: roost.dev/v1alpha1
kind: SandboxDeployment
metadata: { name: sleepy, namespace: ${APPS} }
spec:
  replicas: 0
  autoscaling: { minReplicas: 0, maxReplicas: 2 }
  template:
    spec:
      function:
        runtime: nodejs
        handler: index.handler
        memoryMiB: 64
        code:
          inline:
            files:
              index.mjs: "export const handler = async () => ({ awake: true });"
`,
    });
    const response = await getOnce(`${gatewayUrl}/fn/${APPS}/sleepy`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ awake: true });
  });

  test('a host pod deleted: a new one takes its place and a 2-replica function fails no request meanwhile', async () => {
    const before = await pods(kubectl, SYSTEM, 'roost.dev/host=true');
    const load = steadyLoad(`${gatewayUrl}/fn/${APPS}/hello`);
    await kubectl(['delete', 'pod', before[0]!.name, '-n', SYSTEM, '--wait=true', '--timeout=60s']);
    await eventually(
      'a replacement host pod, ready',
      async () => {
        const now = await pods(kubectl, SYSTEM, 'roost.dev/host=true');
        return now.length === 2 &&
          now.every((p) => p.ready) &&
          !now.some((p) => p.name === before[0]!.name)
          ? now
          : undefined;
      },
      90_000,
    );
    await kubectl([
      'wait',
      '--for=condition=Available',
      'sandboxdeployment/hello',
      '-n',
      APPS,
      '--timeout=60s',
    ]);
    const result = await load.stop();
    expect(result.sent).toBeGreaterThan(20);
    expect(result.failures).toEqual([]);
  });

  test('the leader controller deleted: the other takes over within 15 s', async () => {
    const lease = async () =>
      (
        await kubectl([
          'get',
          'lease',
          'roost-controller',
          '-n',
          SYSTEM,
          '-o',
          'jsonpath={.spec.holderIdentity}',
        ])
      ).trim();
    const leader = await lease();
    const controllers = await pods(kubectl, SYSTEM, 'app.kubernetes.io/component=controller');
    expect(controllers.map((p) => p.name)).toContain(leader);
    const deleted = Date.now();
    await kubectl(['delete', 'pod', leader, '-n', SYSTEM, '--wait=false']);
    const next = await eventually(
      'a new leader',
      async () => {
        const holder = await lease();
        return holder && holder !== leader ? holder : undefined;
      },
      30_000,
    );
    expect(Date.now() - deleted).toBeLessThan(15_000);
    // The standby, or the Deployment's replacement pod if it asked first:
    // the deleted leader hands its Lease back as it stops.
    const now = await pods(kubectl, SYSTEM, 'app.kubernetes.io/component=controller');
    expect(now.map((p) => p.name)).toContain(next);
    expect(next).not.toBe(leader);
  });

  test('helm upgrade rolls the gateways under load with no failed request', async () => {
    const before = await pods(kubectl, SYSTEM, 'app.kubernetes.io/component=gateway');
    const load = steadyLoad(`${gatewayUrl}/fn/${APPS}/hello`);
    await helm([
      'upgrade',
      'roost',
      CHART,
      '-n',
      SYSTEM,
      '--reuse-values',
      '--set',
      'gateway.podAnnotations.roost\\.dev/rolled=one',
      '--wait',
      '--timeout=180s',
    ]);
    const after = await eventually(
      'two new gateways, ready',
      async () => {
        const now = await pods(kubectl, SYSTEM, 'app.kubernetes.io/component=gateway');
        return now.length === 2 &&
          now.every((p) => p.ready && !before.some((b) => b.name === p.name))
          ? now
          : undefined;
      },
      120_000,
    );
    expect(after).toHaveLength(2);
    const result = await load.stop();
    expect(result.sent).toBeGreaterThan(20);
    expect(result.failures).toEqual([]);
  });

  test("helm uninstall leaves only the CRDs and the user's functions", async () => {
    await helm(['uninstall', 'roost', '-n', SYSTEM, '--wait', '--timeout=120s']);
    const left = await eventually('Roost pods gone', async () => {
      const list = await pods(kubectl, SYSTEM, 'app.kubernetes.io/name=roost');
      return list.length === 0 ? list : undefined;
    });
    expect(left).toEqual([]);
    // Everything in the namespace, labelled or not: what the components made at run time too.
    const everything = await eventually('nothing of Roost in its namespace', async () => {
      const names = (
        await kubectl([
          'get',
          'all,serviceaccounts,roles,rolebindings,secrets,leases,poddisruptionbudgets,configmaps',
          '-n',
          SYSTEM,
          '-o',
          'name',
        ])
      )
        .split('\n')
        .filter(Boolean)
        // What Kubernetes itself puts in every namespace.
        .filter((n) => !['serviceaccount/default', 'configmap/kube-root-ca.crt'].includes(n));
      return names.length === 0 ? names : (console.error(names), undefined);
    });
    expect(everything).toEqual([]);
    const clusterWide = await kubectl([
      'get',
      'clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings',
      '-l',
      'app.kubernetes.io/instance=roost',
      '-o',
      'name',
    ]);
    expect(clusterWide.trim()).toBe('');
    const crds = await kubectl(['get', 'crds', '-o', 'name']);
    expect(crds).toContain('sandboxdeployments.roost.dev');
    const deployments = await kubectl(['get', 'sandboxdeployments', '-n', APPS, '-o', 'name']);
    expect(deployments).toContain('hello');
  });
});
