// Roost installed as a user installs it: `helm install` of deploy/chart/roost
// with the images `npm run images` builds, on two real nodes, in a namespace
// that enforces the Pod Security "restricted" level. Then functions deployed
// with kubectl and invoked through the gateway's Service, and the rights of
// each component checked from the outside.
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { startRealCluster, type RealCluster } from '../../testenv/nodes/cluster.ts';
import {
  buildImages,
  imagesValues,
  retagImages,
  ROOST_IMAGE,
  ROOST_JAVA_IMAGE,
  type BuiltImage,
} from '../../testenv/images.ts';
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { nodeFunction } from '../support/deployments.ts';
import { getOnce, postOnce } from './support/http.ts';
import { percentile } from '../../bench/support/stats.ts';
import {
  diagnose,
  eventually,
  helmFor,
  kubectlFor,
  pods,
  type Kubectl,
} from './support/kubectl.ts';

const SYSTEM = 'roost-system';
/** The host pools' namespace the chart makes, at Pod Security baseline. */
const HOSTS = 'roost-system-hosts';
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

/** What a steady client saw: every request on a new connection (a Service balances connections). */
interface LoadResult {
  sent: number;
  failures: string[];
  /** Each request's time, ms, in the order answered. */
  latenciesMs: number[];
}

/** Requests in flight at most: past it a tick sends nothing (a gateway that stalls is not buried). */
const LOAD_MAX_IN_FLIGHT = 64;

/**
 * One GET every `intervalMs`, whether or not the last has answered: a
 * request held for seconds during a disruption does not stop the others
 * from being sent, so "no failed request" covers the whole disruption.
 */
function steadyLoad(url: string, intervalMs = 25): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { sent: 0, failures: [], latenciesMs: [] };
  const inFlight = new Set<Promise<void>>();
  const sendOne = async () => {
    const started = performance.now();
    try {
      const response = await getOnce(url);
      if (response.status !== 200)
        result.failures.push(`${response.status} ${response.body.slice(0, 200)}`);
    } catch (err) {
      result.failures.push(String(err));
    }
    result.latenciesMs.push(performance.now() - started);
  };
  const timer = setInterval(() => {
    if (inFlight.size >= LOAD_MAX_IN_FLIGHT) return;
    result.sent++;
    const request = sendOne().finally(() => inFlight.delete(request));
    inFlight.add(request);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      const at = (p: number) => percentile(result.latenciesMs, p).toFixed(0);
      const slow = result.latenciesMs.filter((ms) => ms > 1000);
      console.error(
        `[e2e] load on ${url}: ${result.sent} requests, ${result.failures.length} failed; ` +
          `latency p50 ${at(50)} ms, p90 ${at(90)} ms, max ${at(100)} ms; ${slow.length} over 1 s`,
      );
      return result;
    },
  };
}

/** A Node.js SandboxDeployment in APPS, as YAML for kubectl apply. */
function nodeFunctionYaml(
  name: string,
  source: string,
  spec: Partial<SandboxDeployment['spec']> & { replicas: number },
): string {
  return stringifyYaml(nodeFunction({ namespace: APPS, name, source, spec }));
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
                import { readFileSync, readdirSync } from 'node:fs';
                // A hostile function: it tries for its sidecar's credentials,
                // its neighbours' code, the JVM bridge's secret, and the sidecar itself.
                const attempt = (what) => { try { what(); return 'done'; } catch (err) { return err.code ?? String(err); } };
                export const handler = async () => ({
                  uid: process.getuid(),
                  serviceAccountToken: attempt(() => readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token')),
                  invokeToken: attempt(() => readFileSync('/var/run/roost/invoke/token')),
                  codeCache: attempt(() => readdirSync('/var/lib/roost/code')),
                  slots: attempt(() => readdirSync('/var/lib/roost/slots')),
                  sidecarEnviron: attempt(() => readFileSync('/proc/1/environ')),
                  sidecarRoot: attempt(() => readdirSync('/proc/1/root/var/lib/roost')),
                  bridgeDir: attempt(() => readdirSync('/run/roost-bridge')),
                  // The internal kill, which Node's permission model does not guard.
                  signalSidecar: attempt(() => process._kill(1, 0)),
                });
`;

describe('helm install of Roost on two real nodes', () => {
  let cluster: RealCluster;
  let kubectl: Kubectl;
  let helm: Kubectl;
  let gatewayUrl: string;
  let images: BuiltImage[];

  beforeAll(async () => {
    const progress = (line: string) => console.error(`[e2e] ${line}`);
    images = await buildImages({ progress });
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
      // CPU requests small enough that one node takes every Roost pod when the other is drained.
      `pools:\n  - { name: mixed, runtimes: [nodejs, java], replicas: 2, memory: 1Gi, cpu: 250m, maxSandboxes: 32, allowedNamespaces: [${APPS}], javaBridge: { memory: 384Mi, cpu: 250m } }\n`,
    );
    // These nodes have no volume provisioner: as a platform team without one
    // would, a PersistentVolume is made by hand for the event queue's claim.
    const natsData = join(cluster.dir, 'nats-data');
    mkdirSync(natsData, { recursive: true });
    chownSync(natsData, 65532, 65532);
    await kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: v1
kind: PersistentVolume
metadata: { name: roost-e2e-nats }
spec:
  capacity: { storage: 4Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: ${natsData}, type: Directory }
`,
    });
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
      '--wait',
      '--timeout=180s',
    ]).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnose(kubectl, [SYSTEM, HOSTS])}`, {
        cause: err,
      });
    });
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

  test('2 controllers, 2 gateways, 2 trigger consumers, the console and the event queue in the restricted namespace, 2 host pods with strong isolation in a baseline one', async () => {
    const running = await eventually('all Roost pods ready', async () => {
      const list = await pods(kubectl, SYSTEM, 'app.kubernetes.io/name=roost');
      return list.length === 8 && list.every((p) => p.ready) ? list : undefined;
    });
    expect(running).toHaveLength(8);
    expect(running.filter((p) => p.name.startsWith('roost-triggers-'))).toHaveLength(2);
    expect(running.filter((p) => p.name === 'roost-nats-0')).toHaveLength(1);
    const hosts = await eventually('both host pods ready', async () => {
      const list = await pods(kubectl, HOSTS, 'roost.dev/host=true');
      return list.length === 2 && list.every((p) => p.ready) ? list : undefined;
    });
    expect(new Set(hosts.map((p) => p.node))).toEqual(new Set(['node-1', 'node-2']));
    expect(
      (
        await kubectl([
          'get',
          'namespace',
          HOSTS,
          '-o',
          `jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}`,
        ])
      ).trim(),
    ).toBe('baseline');
    for (const host of hosts) {
      const pod = JSON.parse(
        await kubectl(['get', 'pod', host.name, '-n', HOSTS, '-o', 'json']),
      ) as {
        metadata: { annotations: Record<string, string> };
        status: { containerStatuses: { name: string; ready: boolean }[] };
      };
      // The kernel keeps functions apart: users and limits of their own.
      expect(pod.metadata.annotations['roost.dev/isolation']).toBe('strong');
      expect(pod.metadata.annotations['roost.dev/isolation-details']).toMatch(
        /uids=per-function.*rlimits=prlimit/,
      );
      // The JVM bridge is a container of its own beside the sidecar.
      expect(pod.status.containerStatuses.map((c) => [c.name, c.ready]).sort()).toEqual([
        ['bridge', true],
        ['sidecar', true],
      ]);
    }
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

  test("a hostile function in a real pod reaches none of its sidecar's credentials, its neighbours' code, or the sidecar", async () => {
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
    const { uid, ...attempts } = JSON.parse(response.body) as Record<string, string | number>;
    // A user of its own, not the sidecar's root.
    expect(uid).toBeGreaterThanOrEqual(2_000_000);
    expect(Object.keys(attempts)).toHaveLength(8);
    // Refused by Node's permission model, Roost's runtime or the kernel.
    for (const [what, outcome] of Object.entries(attempts)) expect(outcome, what).not.toBe('done');

    // The permission model is the second belt. The same attempts as the
    // function's user id without it, in its pod: the kernel alone refuses.
    const [sandbox] = JSON.parse(
      await kubectl([
        'get',
        'sandboxes',
        '-n',
        APPS,
        '-l',
        'roost.dev/deployment=snoop',
        '-o',
        'json',
      ]),
    ).items as { spec: { podName: string } }[];
    // A script run by Node in the sidecar container, as root with the container's capabilities.
    const nodeInSidecar = (script: string) =>
      kubectl([
        'exec',
        sandbox!.spec.podName,
        '-n',
        HOSTS,
        '-c',
        'sidecar',
        '--',
        '/nodejs/bin/node',
        '-e',
        script,
      ]);
    const cachedFile = (
      await nodeInSidecar(
        `const fs = require('node:fs'); const d = '/var/lib/roost/code/' + fs.readdirSync('/var/lib/roost/code').find((n) => fs.statSync('/var/lib/roost/code/' + n).isDirectory()); console.log(d + '/' + fs.readdirSync(d)[0]);`,
      )
    ).trim();
    const bare = JSON.parse(
      await nodeInSidecar(
        `const fs = require('node:fs');
         process.setgroups([]); process.setgid(${uid}); process.setuid(${uid});
         const attempt = (what) => { try { what(); return 'done'; } catch (err) { return err.code ?? String(err); } };
         console.log(JSON.stringify({
           neighbourCode: attempt(() => fs.readFileSync(${JSON.stringify(cachedFile)})),
           serviceAccountToken: attempt(() => fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token')),
           invokeToken: attempt(() => fs.readFileSync('/var/run/roost/invoke/token')),
           slots: attempt(() => fs.readdirSync('/var/lib/roost/slots')),
           sidecarEnviron: attempt(() => fs.readFileSync('/proc/1/environ')),
           bridgeSecret: attempt(() => fs.readFileSync('/run/roost-bridge/bridge.secret')),
           signalSidecar: attempt(() => process.kill(1, 0)),
         }));`,
      ),
    ) as Record<string, string>;
    expect(bare).toEqual({
      neighbourCode: 'EACCES',
      serviceAccountToken: 'EACCES',
      invokeToken: 'EACCES',
      slots: 'EACCES',
      sidecarEnviron: 'EACCES',
      bridgeSecret: 'EACCES',
      signalSidecar: 'EPERM',
    });
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
    const hosts = await pods(kubectl, HOSTS, 'roost.dev/host=true');
    const other = hosts.find((h) => h.name !== first!.spec.podName)!;
    const uid = (
      await kubectl(['get', 'pod', other.name, '-n', HOSTS, '-o', 'jsonpath={.metadata.uid}'])
    ).trim();
    // The token a sidecar in `other` holds: bound to that pod.
    const token = (
      await kubectl([
        'create',
        'token',
        'roost-host',
        '-n',
        HOSTS,
        '--bound-object-kind=Pod',
        `--bound-object-name=${other.name}`,
        `--bound-object-uid=${uid}`,
      ])
    ).trim();
    const asSidecar = (args: string[]) => kubectl([`--token=${token}`, ...args]);
    await expect(
      asSidecar(['annotate', 'sandbox', first!.metadata.name, '-n', APPS, 'roost.dev/probe=1']),
    ).rejects.toThrow(new RegExp(`host pod ${other.name} may only change Sandboxes bound to it`));
    for (const namespace of [SYSTEM, HOSTS, APPS])
      await expect(asSidecar(['get', 'secrets', '-n', namespace])).rejects.toThrow(/forbidden/i);
    // A token not bound to any pod is refused outright.
    const unbound = (await kubectl(['create', 'token', 'roost-host', '-n', HOSTS])).trim();
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
    for (const host of await pods(kubectl, HOSTS, 'roost.dev/host=true'))
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
      input: nodeFunctionYaml('sleepy', 'export const handler = async () => ({ awake: true });', {
        replicas: 0,
        autoscaling: { minReplicas: 0, maxReplicas: 2 },
      }),
    });
    const response = await getOnce(`${gatewayUrl}/fn/${APPS}/sleepy`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ awake: true });
  });

  test('events accepted through the Invoke API outlive a restart of the event queue, and run once the function has a Sandbox', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'roost-events-'));
    const roost = (args: string[]) => runRoost(args, { cwd, kubeconfig: cluster.kubeconfigPath });
    // No Sandbox and no autoscaler: the events can only wait in the queue.
    await kubectl(['apply', '-f', '-'], {
      input: nodeFunctionYaml(
        'tally',
        "export const handler = async (event) => { console.log('tally ran ' + event.n); return {}; };",
        { replicas: 0 },
      ),
    });
    const EVENTS = 20;
    const accepted = new Set<string>();
    for (let n = 0; n < EVENTS; n++) {
      const response = await postOnce(
        `${gatewayUrl}/2015-03-31/functions/${APPS}:function:tally/invocations`,
        JSON.stringify({ n }),
        { 'x-amz-invocation-type': 'Event' },
      );
      expect(response.status, response.body).toBe(202);
      accepted.add(String(response.headers['x-amzn-requestid']));
    }
    expect(accepted.size).toBe(EVENTS);
    // The queue's pod replaced: what it accepted was on its volume.
    await kubectl(['delete', 'pod', 'roost-nats-0', '-n', SYSTEM, '--wait=true', '--timeout=60s']);
    await kubectl(['rollout', 'status', 'statefulset/roost-nats', '-n', SYSTEM, '--timeout=120s']);
    await kubectl([
      'patch',
      'sandboxdeployment',
      'tally',
      '-n',
      APPS,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":1}}',
    ]);
    const ran = await eventually(
      'every accepted event ran',
      async () => {
        const { stdout } = await roost(['logs', 'tally', '-n', APPS]);
        const seen = new Set([...stdout.matchAll(/tally ran (\d+)/g)].map((m) => Number(m[1])));
        return seen.size === EVENTS ? seen : undefined;
      },
      180_000,
    );
    expect([...ran].sort((a, b) => a - b)).toEqual([...Array(EVENTS).keys()]);
  }, 300_000);

  test("a QueueTrigger on the chart's own NATS wakes a function at zero and runs every message once, and counts them", async () => {
    const token = Buffer.from(
      await kubectl([
        'get',
        'secret',
        'roost-invoke-token',
        '-n',
        SYSTEM,
        '-o',
        'jsonpath={.data.token}',
      ]),
      'base64',
    ).toString('utf8');
    const natsIp = (
      await kubectl([
        'get',
        'service',
        'roost-nats',
        '-n',
        SYSTEM,
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    // The stream is the user's: made with the invoke token, as `nats stream add` would.
    const nc = await connectNats({ servers: `${natsIp}:4222`, token });
    try {
      const streams = (await jetstreamManager(nc)).streams;
      await streams.add({ name: 'E2E_ORDERS', subjects: ['e2e.orders.>'] });
      await kubectl(['apply', '-f', '-'], {
        input: `${nodeFunctionYaml(
          'orders',
          `export const handler = async (event) => {
  for (const r of event.Records) console.log('order ' + JSON.parse(Buffer.from(r.data, 'base64')).n);
  return { batchItemFailures: [] };
};`,
          { replicas: 0, autoscaling: { minReplicas: 0, maxReplicas: 2 } },
        )}
---
apiVersion: roost.dev/v1alpha1
kind: QueueTrigger
metadata: { name: orders, namespace: ${APPS} }
spec:
  source: { nats: { stream: E2E_ORDERS, subject: e2e.orders.>, durable: orders } }
  target: { name: orders }
  batchSize: 10
`,
      });
      await eventually('the trigger Ready', async () =>
        (
          await kubectl([
            'get',
            'queuetrigger',
            'orders',
            '-n',
            APPS,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ])
        ).trim() === 'True'
          ? true
          : undefined,
      );
      const MESSAGES = 50;
      const js = jetstream(nc);
      for (let n = 0; n < MESSAGES; n++)
        await js.publish('e2e.orders.new', JSON.stringify({ n }), { msgID: `order-${n}` });
      const cwd = mkdtempSync(join(tmpdir(), 'roost-queue-'));
      const ran = await eventually(
        'every message ran',
        async () => {
          const { stdout } = await runRoost(['logs', 'orders', '-n', APPS], {
            cwd,
            kubeconfig: cluster.kubeconfigPath,
          });
          const seen = [...stdout.matchAll(/order (\d+)/g)].map((m) => Number(m[1]));
          return new Set(seen).size === MESSAGES ? seen : undefined;
        },
        180_000,
      );
      // At least once, and here with nothing failing, exactly once.
      expect(ran.sort((a, b) => a - b)).toEqual([...Array(MESSAGES).keys()]);
      const status = await eventually(
        'the trigger counted them, with nothing waiting',
        async () => {
          const trigger = JSON.parse(
            await kubectl(['get', 'queuetrigger', 'orders', '-n', APPS, '-o', 'json']),
          ) as { status?: { delivered?: number; failed?: number; lag?: number } };
          return trigger.status?.delivered === MESSAGES && trigger.status.lag === 0
            ? trigger.status
            : undefined;
        },
      );
      expect(status.failed ?? 0).toBe(0);
      // Deleting the trigger removes the durable consumer Roost made, and keeps the user's stream.
      await kubectl(['delete', 'queuetrigger', 'orders', '-n', APPS, '--timeout=60s']);
      const consumers: string[] = [];
      for await (const c of (await jetstreamManager(nc)).consumers.list('E2E_ORDERS'))
        consumers.push(c.name);
      expect(consumers).toEqual([]);
      expect((await streams.info('E2E_ORDERS')).state.messages).toBe(MESSAGES);
    } finally {
      await nc.close();
    }
  }, 300_000);

  test('a host pod deleted: a new one takes its place and a 2-replica function fails no request meanwhile', async () => {
    const before = await pods(kubectl, HOSTS, 'roost.dev/host=true');
    const load = steadyLoad(`${gatewayUrl}/fn/${APPS}/hello`);
    await kubectl(['delete', 'pod', before[0]!.name, '-n', HOSTS, '--wait=true', '--timeout=60s']);
    await eventually(
      'a replacement host pod, ready',
      async () => {
        const now = await pods(kubectl, HOSTS, 'roost.dev/host=true');
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

  test('a node drained: its Roost pods run on the other node and a 2-replica function fails no request', async () => {
    const load = steadyLoad(`${gatewayUrl}/fn/${APPS}/hello`);
    const drained = Date.now();
    await kubectl([
      'drain',
      'node-1',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=180s',
    ]);
    const moved = await eventually(
      'every Roost pod ready on node-2',
      async () => {
        const all = [
          ...(await pods(kubectl, SYSTEM, 'app.kubernetes.io/name=roost')),
          ...(await pods(kubectl, HOSTS, 'roost.dev/host=true')),
        ];
        return all.length === 10 && all.every((p) => p.ready && p.node === 'node-2')
          ? all
          : undefined;
      },
      180_000,
    );
    console.error(
      `[e2e] node-1 drained, every Roost pod ready on node-2 in ${Date.now() - drained} ms`,
    );
    // The event queue's pod too: its volume (hostPath here) is on this machine for either node.
    expect(moved).toHaveLength(10);
    await kubectl([
      'wait',
      '--for=condition=Available',
      'sandboxdeployment/hello',
      '-n',
      APPS,
      '--timeout=60s',
    ]);
    const result = await load.stop();
    await kubectl(['uncordon', 'node-1']);
    expect(result.sent).toBeGreaterThan(20);
    expect(result.failures).toEqual([]);
  }, 300_000);

  test('helm upgrade to a new image tag rolls controllers, gateways and host pools under load with no failed request', async () => {
    // Roost's own images: the event queue's NATS is versioned apart.
    const next = await retagImages(
      images.filter((i) => i.ref === ROOST_IMAGE || i.ref === ROOST_JAVA_IMAGE),
      'next',
    );
    for (const image of next) await cluster.importImage(image.archive);
    const load = steadyLoad(`${gatewayUrl}/fn/${APPS}/hello`);
    const started = Date.now();
    await helm([
      'upgrade',
      'roost',
      CHART,
      '-n',
      SYSTEM,
      '--reuse-values',
      '--set',
      'image.tag=next',
      '--set',
      'javaImage.tag=next',
      '--wait',
      '--timeout=300s',
    ]).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnose(kubectl, [SYSTEM, HOSTS])}`, {
        cause: err,
      });
    });
    const imagesOf = async (namespace: string, selector: string) =>
      (
        await kubectl([
          'get',
          'pods',
          '-n',
          namespace,
          '-l',
          selector,
          '-o',
          'jsonpath={range .items[*]}{.metadata.deletionTimestamp}{"|"}{.spec.containers[*].image}{"\\n"}{end}',
        ])
      )
        .split('\n')
        .filter((line) => line && !line.split('|')[0])
        .map((line) => line.split('|')[1]!);
    const rolled = await eventually(
      'every Roost pod on the new tag',
      async () => {
        const all = [
          ...(await imagesOf(
            SYSTEM,
            'app.kubernetes.io/name=roost,app.kubernetes.io/component!=nats',
          )),
          ...(await imagesOf(HOSTS, 'roost.dev/host=true')),
        ];
        return all.length === 9 &&
          all.every((images) => images.split(' ').every((i) => i.endsWith(':next')))
          ? all
          : undefined;
      },
      180_000,
    );
    console.error(`[e2e] helm upgrade to a new tag rolled every pod in ${Date.now() - started} ms`);
    expect(rolled).toHaveLength(9);
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
    // The Java function came through its bridge containers' replacement too.
    const java = await getOnce(`${gatewayUrl}/fn/${APPS}/java-hello?name=Ada`);
    expect(java.status).toBe(200);
  }, 300_000);

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
    // The host pools' namespace went with the release.
    await eventually(
      "the host pools' namespace gone",
      async () => {
        const left = await kubectl(['get', 'namespaces', '-o', 'name']);
        return left.includes(`namespace/${HOSTS}`) ? undefined : true;
      },
      120_000,
    );
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
