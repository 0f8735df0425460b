// Real nodes, as a user of any Kubernetes cluster would check them: two
// kubelets with containerd on this machine, Roost's own image running as a
// Deployment, reached through a Service from the host and from another pod
// by DNS name, with logs, exec, self-healing and drain; and a stopped cluster
// leaves nothing behind.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRealCluster, type RealCluster } from '../../testenv/nodes/cluster.ts';
import { findLeftovers } from '../../testenv/nodes/leftovers.ts';
import { buildImages, ROOST_IMAGE } from '../../testenv/images.ts';
import { storeBytes } from '../../testenv/nodes/buildah.ts';
import { getOnce } from './support/http.ts';
import { eventually, kubectlFor, pods, type Kubectl } from './support/kubectl.ts';

const NAMESPACE = 'e2e-nodes';

// A tiny HTTP server on the roost image's own Node: it says which pod and
// node answered, so the test can see where traffic went.
const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  res.end(JSON.stringify({ pod: process.env.POD_NAME, node: process.env.NODE_NAME }));
}).listen(8080, () => console.log('hello server listening on 8080 in ' + process.env.POD_NAME));
process.on('SIGTERM', () => process.exit(0));
`;

const manifests = `
apiVersion: v1
kind: Namespace
metadata: { name: ${NAMESPACE} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: hello, namespace: ${NAMESPACE} }
spec:
  replicas: 2
  selector: { matchLabels: { app: hello } }
  template:
    metadata: { labels: { app: hello } }
    spec:
      terminationGracePeriodSeconds: 2
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: { matchLabels: { app: hello } }
      containers:
        - name: hello
          image: ${ROOST_IMAGE}
          imagePullPolicy: Never
          command: ["/nodejs/bin/node", "-e", ${JSON.stringify(SERVER)}]
          env:
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: NODE_NAME, valueFrom: { fieldRef: { fieldPath: spec.nodeName } } }
          ports: [{ containerPort: 8080 }]
          readinessProbe:
            httpGet: { path: /, port: 8080 }
            periodSeconds: 1
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
---
apiVersion: v1
kind: Service
metadata: { name: hello, namespace: ${NAMESPACE} }
spec:
  selector: { app: hello }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: probe, namespace: ${NAMESPACE} }
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - name: probe
      image: ${ROOST_IMAGE}
      imagePullPolicy: Never
      command: ["/nodejs/bin/node", "-e", "setInterval(() => {}, 1 << 30)"]
`;

/** Runs Node in the probe pod with `args` (a script after -e, or a file), through kubectl exec. */
function nodeInProbe(kubectl: Kubectl, args: string[]): Promise<string> {
  return kubectl(['exec', '-n', NAMESPACE, 'probe', '--', '/nodejs/bin/node', ...args]);
}

/** What a probe pod's fetch of `url` answers. */
function fetchFromPod(kubectl: Kubectl, url: string): Promise<string> {
  return nodeInProbe(kubectl, [
    '-e',
    `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e.cause ?? e)); process.exit(1); })`,
  ]);
}

describe('a two-node cluster of real kubelets', () => {
  let cluster: RealCluster;
  let kubectl: Kubectl;
  let stopped = false;

  beforeAll(async () => {
    const progress = (line: string) => console.error(`[e2e] ${line}`);
    const images = await buildImages({ java: false, progress });
    cluster = await startRealCluster({ nodes: 2, progress });
    for (const image of images) await cluster.importImage(image.archive);
    kubectl = kubectlFor(cluster.kubeconfigPath);
  });

  afterAll(async () => {
    if (!stopped) await cluster?.stop();
  });

  test('building the images again reuses every layer and leaves the image store no larger', async () => {
    const before = storeBytes();
    const lines: string[] = [];
    await buildImages({ java: false, progress: (line) => lines.push(line) });
    expect(lines.join('\n')).toMatch(/localhost\/roost\/base:24, \S+: unchanged \(cached\)/);
    // Layers already in the store are reused, and the images a rebuild
    // leaves untagged are pruned: repeated runs do not fill the disk.
    expect(storeBytes()).toBeLessThanOrEqual(before + 2 ** 20);
  });

  test('both nodes are Ready with their own addresses', async () => {
    const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: {
        metadata: { name: string };
        status: {
          addresses: { type: string; address: string }[];
          conditions: { type: string; status: string }[];
        };
      }[];
    };
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(['node-1', 'node-2']);
    for (const node of nodes.items) {
      expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
      const internal = node.status.addresses.find((a) => a.type === 'InternalIP')?.address;
      expect(internal).toMatch(/^198\.18\.\d+\.1$/);
    }
  });

  test('a Deployment of the roost image spreads over both nodes and answers through its Service', async () => {
    await kubectl(['apply', '-f', '-'], { input: manifests });
    const ready = await eventually('two ready hello pods', async () => {
      const list = await pods(kubectl, NAMESPACE, 'app=hello');
      return list.length === 2 && list.every((p) => p.ready) ? list : undefined;
    });
    expect(new Set(ready.map((p) => p.node))).toEqual(new Set(['node-1', 'node-2']));

    // From the host, through kube-proxy's nftables rules, to both pods.
    const clusterIp = (
      await kubectl([
        'get',
        'service',
        'hello',
        '-n',
        NAMESPACE,
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    expect(clusterIp).toMatch(/^198\.18\.1(2[89]|3\d|4[0-3])\./);
    // A new connection each time, since kube-proxy balances connections, not requests.
    const seen = new Set<string>();
    await eventually('answers from both pods', async () => {
      seen.add(
        (JSON.parse((await getOnce(`http://${clusterIp}/`, 5000)).body) as { pod: string }).pod,
      );
      return seen.size === 2 ? seen : undefined;
    });
    expect(seen).toEqual(new Set(ready.map((p) => p.name)));
  });

  test('another pod reaches the Service by its DNS name, through kubectl exec', async () => {
    await eventually('the probe pod to run', async () =>
      (await pods(kubectl, NAMESPACE, '')).find((p) => p.name === 'probe' && p.ready),
    );
    for (const url of ['http://hello/', `http://hello.${NAMESPACE}.svc.cluster.local/`]) {
      const body = await eventually(`an answer from ${url}`, () => fetchFromPod(kubectl, url));
      expect(JSON.parse(body)).toMatchObject({ pod: expect.stringMatching(/^hello-/) });
    }
  });

  test('a pod reaches the API server through the kubernetes Service with its service-account token', async () => {
    const answer = await nodeInProbe(kubectl, [
      '-e',
      `
      const { readFileSync } = require('node:fs');
      const https = require('node:https');
      const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
      https.get('https://kubernetes.default.svc/api/v1/namespaces/${NAMESPACE}/pods', {
        ca: readFileSync(dir + '/ca.crt'),
        headers: { authorization: 'Bearer ' + readFileSync(dir + '/token', 'utf8') },
      }, (res) => { process.stdout.write(String(res.statusCode)); res.resume(); })
        .on('error', (e) => { console.error(String(e)); process.exit(1); });
      `,
    ]);
    // Authenticated and verified over TLS; the default account may not list pods.
    expect(answer).toBe('403');
  });

  test('the roost image runs the roost command as non-root, with no package manager, compiler or test code', async () => {
    const exec = (script: string) => nodeInProbe(kubectl, ['-e', script]);
    expect(await exec('process.stdout.write(String(process.getuid()))')).toBe('65532');
    const help = await nodeInProbe(kubectl, ['/opt/roost/cli/roost.ts', '--help']);
    for (const command of ['controller', 'gateway', 'sidecar', 'deploy', 'invoke'])
      expect(help).toContain(command);
    const found = JSON.parse(
      await exec(`
        const { existsSync, readdirSync } = require('node:fs');
        const files = ['opt', 'nodejs', 'usr', 'bin', 'sbin', 'etc', 'root', 'home']
          .filter((dir) => existsSync('/' + dir))
          .flatMap((dir) => readdirSync('/' + dir, { recursive: true }).map((f) => dir + '/' + f));
        const hits = (re) => files.filter((f) => re.test(f)).slice(0, 5);
        process.stdout.write(JSON.stringify({
          tests: hits(/^opt\\/roost\\/(?!node_modules\\/).*\\.test\\.ts$/),
          packageManagers: hits(/(^|\\/)(npm|npm-cli\\.js|yarn|apt|apt-get|dpkg)$/),
          compilers: hits(/(^|\\/)(gcc|cc|g\\+\\+|go|javac)$/),
        }));
      `),
    ) as Record<string, string[]>;
    expect(found).toEqual({ tests: [], packageManagers: [], compilers: [] });
  });

  test('kubectl logs shows what the container printed', async () => {
    const [pod] = await pods(kubectl, NAMESPACE, 'app=hello');
    const logs = await kubectl(['logs', '-n', NAMESPACE, pod!.name]);
    expect(logs).toContain(`hello server listening on 8080 in ${pod!.name}`);
  });

  test('a deleted pod is replaced by a new one', async () => {
    const before = await pods(kubectl, NAMESPACE, 'app=hello');
    await kubectl(['delete', 'pod', '-n', NAMESPACE, before[0]!.name, '--wait=false']);
    const after = await eventually('a replacement pod to be ready', async () => {
      const list = await pods(kubectl, NAMESPACE, 'app=hello');
      return list.length === 2 &&
        list.every((p) => p.ready) &&
        !list.some((p) => p.name === before[0]!.name)
        ? list
        : undefined;
    });
    expect(after.map((p) => p.name)).toContain(before[1]!.name);
  });

  test('draining a node moves its pods to the other node', async () => {
    const onNode1 = (await pods(kubectl, NAMESPACE, 'app=hello')).filter(
      (p) => p.node === 'node-1',
    );
    expect(onNode1.length).toBeGreaterThan(0);
    await kubectl([
      'drain',
      'node-1',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--force',
      '--timeout=60s',
    ]);
    const moved = await eventually('hello pods all ready on node-2', async () => {
      const list = await pods(kubectl, NAMESPACE, 'app=hello');
      return list.length === 2 && list.every((p) => p.ready && p.node === 'node-2')
        ? list
        : undefined;
    });
    expect(moved).toHaveLength(2);
    await kubectl(['uncordon', 'node-1']);
  });

  test('a stopped cluster leaves no process, mount, namespace, bridge or rule behind', async () => {
    expect(cluster.leftovers().links.length).toBeGreaterThan(0);
    await cluster.stop();
    stopped = true;
    expect(cluster.leftovers()).toEqual({
      mounts: [],
      processes: [],
      podLogLinks: [],
      links: [],
      nftablesTables: [],
    });
  });

  test('a second cluster starts right after, on the clean machine', async () => {
    const again = await startRealCluster({ nodes: 1 });
    try {
      const nodes = await kubectlFor(again.kubeconfigPath)(['get', 'nodes', '-o', 'name']);
      expect(nodes.trim()).toBe('node/node-1');
    } finally {
      await again.stop();
    }
    expect(again.leftovers().processes).toEqual([]);
  });

  test('a cluster killed outright is cleaned up by the next start: no container, mount or bridge of it remains', async () => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, 'support', 'killable-cluster.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const dir = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /ready (\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) =>
        reject(new Error(`the cluster process exited (${code}) before it was ready`)),
      );
    });
    const killedLeftovers = findLeftovers([dir]);
    expect(killedLeftovers.processes.length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const next = await startRealCluster({ nodes: 1 });
    try {
      expect(findLeftovers([dir])).toMatchObject({ mounts: [], processes: [], podLogLinks: [] });
      for (const { pid } of killedLeftovers.processes)
        expect(() => process.kill(pid, 0), `pid ${pid} of the killed cluster`).toThrow();
    } finally {
      await next.stop();
    }
    expect(next.leftovers()).toEqual({
      mounts: [],
      processes: [],
      podLogLinks: [],
      links: [],
      nftablesTables: [],
    });
  });
});
