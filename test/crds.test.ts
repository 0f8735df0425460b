// The roost.dev API as a user meets it through the real API server and kubectl:
// valid objects are accepted, invalid ones are refused with an error that names
// the offending field, and the kubectl verbs behave as for built-in kinds.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually, kubectl } from './support/cluster.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import {
  CustomResourceDefinitions,
  SandboxDeployments,
  SandboxReplicaSets,
  Sandboxes,
  type ResourceType,
} from '../kube/api/resources.ts';
import type { KubeObject } from '../kube/api/meta.ts';
import type { Sandbox, SandboxDeployment, SandboxReplicaSet } from '../kube/api/roost.ts';
import { customResourceDefinitions } from '../crds/definitions.ts';

const client = adminClient();
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace(client, 'crds');
});

function sandbox(name: string): Sandbox {
  return {
    metadata: { name, namespace },
    spec: {
      function: {
        runtime: 'nodejs',
        handler: 'index.handler',
        code: { inline: { files: { 'index.mjs': 'export const handler = async () => "ok";' } } },
      },
    },
  };
}

function deployment(name: string): SandboxDeployment {
  return {
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: sandbox(name).spec,
      },
    },
  };
}

function replicaSet(name: string): SandboxReplicaSet {
  const { selector, template } = deployment(name).spec;
  return { metadata: { name, namespace }, spec: { replicas: 1, selector: selector!, template } };
}

async function createError<T extends KubeObject>(
  type: ResourceType<T>,
  object: T,
): Promise<string> {
  try {
    await client.create(type, object);
  } catch (err) {
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    return (err as KubeApiError).message;
  }
  throw new Error(`${type.kind} ${object.metadata.name} was accepted`);
}

describe('CRDs', () => {
  test.each(customResourceDefinitions.map((crd) => crd.metadata.name))(
    '%s is installed and established',
    async (name) => {
      const crd = await client.get(CustomResourceDefinitions, { name });
      expect(crd.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      );
    },
  );

  test('every example manifest in examples/ is accepted by the API server', async () => {
    const manifests = findYaml(join(import.meta.dirname, '..', 'examples'));
    expect(manifests.length).toBeGreaterThan(0);
    for (const file of manifests) {
      const result = await kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', file]);
      expect(result.stderr, file).toBe('');
      expect(result.code, file).toBe(0);
    }
  });
});

type Mutation<T> = [string, (object: T) => void, string];

const invalidSandboxes: Mutation<Sandbox>[] = [
  [
    'no handler',
    (s) => delete (s.spec.function as Partial<typeof s.spec.function>).handler,
    'spec.function.handler: Required value',
  ],
  ['no code source', (s) => (s.spec.function.code = {}), 'exactly one of inline, configMap or url'],
  [
    'two code sources',
    (s) =>
      (s.spec.function.code.url = { url: 'https://example.com/f.tgz', sha256: 'a'.repeat(64) }),
    'exactly one of inline, configMap or url',
  ],
  [
    'a sha256 that is not 64 hex digits',
    (s) => (s.spec.function.code = { url: { url: 'https://example.com/f.tgz', sha256: 'abc123' } }),
    'spec.function.code.url.sha256',
  ],
  [
    'an upper-case sha256',
    (s) =>
      (s.spec.function.code = {
        url: { url: 'https://example.com/f.tgz', sha256: 'A'.repeat(64) },
      }),
    'spec.function.code.url.sha256',
  ],
  [
    'a url without sha256',
    (s) => (s.spec.function.code = { url: { url: 'https://example.com/f.tgz' } as never }),
    'spec.function.code.url.sha256: Required value',
  ],
  [
    'a url that is not http',
    (s) => (s.spec.function.code = { url: { url: 'file:///etc/passwd', sha256: 'a'.repeat(64) } }),
    'spec.function.code.url.url',
  ],
  [
    'a configMap without a name',
    (s) => (s.spec.function.code = { configMap: {} as never }),
    'spec.function.code.configMap.name: Required value',
  ],
  [
    'an unknown runtime',
    (s) => (s.spec.function.runtime = 'python' as never),
    'spec.function.runtime: Unsupported value: "python"',
  ],
  [
    'a single inline file over 256 KiB',
    (s) => (s.spec.function.code.inline!.files['big.js'] = 'x'.repeat(300 * 1024)),
    'spec.function.code.inline.files',
  ],
  [
    'inline files totalling over 256 KiB',
    (s) => {
      s.spec.function.code.inline!.files['a.js'] = 'x'.repeat(150 * 1024);
      s.spec.function.code.inline!.files['b.js'] = 'x'.repeat(150 * 1024);
    },
    'inline files must total at most 256 KiB',
  ],
  [
    'an absolute inline file path',
    (s) => (s.spec.function.code.inline!.files['/etc/evil.js'] = ''),
    'spec.function.code.inline.files',
  ],
  [
    'an inline file path with ..',
    (s) => (s.spec.function.code.inline!.files['../evil.js'] = ''),
    'spec.function.code.inline.files',
  ],
  [
    'a nodejs handler without an export',
    (s) => (s.spec.function.handler = 'index'),
    'spec.function.handler',
  ],
  [
    'a java handler with an empty method',
    (s) => {
      s.spec.function.runtime = 'java';
      s.spec.function.handler = 'com.example.Hello::';
      s.spec.function.code = { configMap: { name: 'jar' } };
    },
    'spec.function.handler',
  ],
  [
    'java code given inline',
    (s) => {
      s.spec.function.runtime = 'java';
      s.spec.function.handler = 'com.example.Hello';
    },
    'spec.function.code.inline',
  ],
  ['a timeout of 0 s', (s) => (s.spec.function.timeoutSeconds = 0), 'spec.function.timeoutSeconds'],
  [
    'a timeout over 900 s',
    (s) => (s.spec.function.timeoutSeconds = 901),
    'spec.function.timeoutSeconds',
  ],
  ['8 MiB of memory', (s) => (s.spec.function.memoryMiB = 8), 'spec.function.memoryMiB'],
  ['a concurrency of 0', (s) => (s.spec.function.concurrency = 0), 'spec.function.concurrency'],
  [
    'an env name that starts with a digit',
    (s) => (s.spec.function.env = [{ name: '1BAD', value: 'x' }]),
    'spec.function.env[0].name',
  ],
  [
    'the same env name twice',
    (s) =>
      (s.spec.function.env = [
        { name: 'A', value: '1' },
        { name: 'A', value: '2' },
      ]),
    'spec.function.env[1]: Duplicate value',
  ],
  [
    'a negative termination grace period',
    (s) => (s.spec.terminationGracePeriodSeconds = -1),
    'spec.terminationGracePeriodSeconds',
  ],
];

const invalidDeployments: Mutation<SandboxDeployment>[] = [
  ['negative replicas', (d) => (d.spec.replicas = -1), 'spec.replicas'],
  [
    'minReplicas above maxReplicas',
    (d) => (d.spec.autoscaling = { minReplicas: 5, maxReplicas: 2 }),
    'spec.autoscaling.minReplicas',
  ],
  [
    'targetUtilization above 1',
    (d) => (d.spec.autoscaling = { targetUtilization: 1.5 }),
    'spec.autoscaling.targetUtilization',
  ],
  [
    'template labels that do not match the selector',
    (d) => (d.spec.template.metadata = { labels: { app: 'other' } }),
    'spec.template.metadata.labels',
  ],
  [
    'maxSurge and maxUnavailable both zero',
    (d) =>
      (d.spec.strategy = {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' },
      }),
    'spec.strategy.rollingUpdate',
  ],
  [
    'maxSurge of 150%',
    (d) => (d.spec.strategy = { rollingUpdate: { maxSurge: '150%' } }),
    'spec.strategy.rollingUpdate.maxSurge',
  ],
  [
    'a negative maxUnavailable',
    (d) => (d.spec.strategy = { rollingUpdate: { maxUnavailable: -1 } }),
    'spec.strategy.rollingUpdate.maxUnavailable',
  ],
  [
    'Recreate with rollingUpdate bounds',
    (d) => (d.spec.strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } }),
    'spec.strategy.rollingUpdate',
  ],
  [
    'no template',
    (d) => delete (d.spec as Partial<typeof d.spec>).template,
    'spec.template: Required value',
  ],
  [
    'a rate limit without a rate',
    (d) => (d.spec.gateway = { rateLimit: { burst: 5 } as never }),
    'spec.gateway.rateLimit.requestsPerSecond: Required value',
  ],
  [
    'a fallback status code of 700',
    (d) => (d.spec.gateway = { fallback: { statusCode: 700 } }),
    'spec.gateway.fallback.statusCode',
  ],
  [
    'a fallback header name with a space',
    (d) => (d.spec.gateway = { fallback: { headers: { 'x bad': 'v' } } }),
    'spec.gateway.fallback.headers: Invalid value: "object": header names must be HTTP tokens',
  ],
  [
    'a fallback header value with a line break',
    (d) => (d.spec.gateway = { fallback: { headers: { 'x-ok': 'a\r\nset-cookie: x=1' } } }),
    'spec.gateway.fallback.headers: Invalid value: "object": header values must be one line',
  ],
  [
    'a fallback Content-Length',
    (d) => (d.spec.gateway = { fallback: { headers: { 'Content-Length': '3' } } }),
    'the gateway frames the response itself',
  ],
  [
    'a fallback status code of 101',
    (d) => (d.spec.gateway = { fallback: { statusCode: 101 } }),
    'spec.gateway.fallback.statusCode',
  ],
  [
    'a template function with an unknown runtime',
    (d) => (d.spec.template.spec.function.runtime = 'ruby' as never),
    'spec.template.spec.function.runtime',
  ],
];

describe('invalid objects are refused with the offending field named', () => {
  test.each(invalidSandboxes)('Sandbox with %s', async (_, mutate, field) => {
    const object = sandbox('invalid');
    mutate(object);
    expect(await createError(Sandboxes, object)).toContain(field);
  });

  test.each(invalidDeployments)('SandboxDeployment with %s', async (_, mutate, field) => {
    const object = deployment('invalid');
    mutate(object);
    expect(await createError(SandboxDeployments, object)).toContain(field);
  });

  test('SandboxReplicaSet without a selector', async () => {
    const object = replicaSet('invalid');
    delete (object.spec as Partial<typeof object.spec>).selector;
    expect(await createError(SandboxReplicaSets, object)).toContain(
      'spec.selector: Required value',
    );
  });

  test('spec.podName may be set once but never changed or removed', async () => {
    const created = await client.create(Sandboxes, sandbox('bind-once'));
    const key = { namespace, name: 'bind-once' };
    await client.patch(Sandboxes, key, { spec: { podName: 'host-a' } });
    const change = client.patch(Sandboxes, key, { spec: { podName: 'host-b' } });
    await expect(change).rejects.toThrow(
      /spec\.podName: Forbidden: podName cannot change once the Sandbox is bound/,
    );
    const removal = client.patch(Sandboxes, key, { spec: { podName: null } });
    await expect(removal).rejects.toThrow(/spec\.podName/);
    expect((await client.get(Sandboxes, key)).spec.podName).toBe('host-a');
    expect(created.spec.function.timeoutSeconds).toBe(30);
  });
});

describe('defaults', () => {
  test('a minimal Sandbox gets the documented defaults', async () => {
    const created = await client.create(Sandboxes, sandbox('defaults'));
    expect(created.spec.function).toMatchObject({
      timeoutSeconds: 30,
      memoryMiB: 128,
      cpuMillis: 100,
      concurrency: 1,
    });
    expect(created.spec.terminationGracePeriodSeconds).toBe(30);
  });

  test('a minimal SandboxDeployment gets the documented defaults', async () => {
    const object = deployment('defaults');
    delete object.spec.replicas;
    object.spec.autoscaling = {};
    const created = await client.create(SandboxDeployments, object);
    expect(created.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate' },
    });
    expect(created.spec.autoscaling).toEqual({
      minReplicas: 0,
      maxReplicas: 10,
      targetUtilization: 0.7,
      scaleToZeroGraceSeconds: 60,
      stableWindowSeconds: 60,
      panicWindowSeconds: 6,
    });
  });
});

describe('kubectl', () => {
  test('get roost lists every Roost kind', async () => {
    await client.create(SandboxDeployments, deployment('listed'));
    await client.create(SandboxReplicaSets, replicaSet('listed'));
    await client.create(Sandboxes, sandbox('listed'));
    const result = await kubectl(['get', 'roost', '-n', namespace]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('sandboxdeployment.roost.dev/listed');
    expect(result.stdout).toContain('sandboxreplicaset.roost.dev/listed');
    expect(result.stdout).toContain('sandbox.roost.dev/listed');
  });

  test('get sbx -o wide shows the wide columns', async () => {
    const object = sandbox('wide');
    object.spec.podName = 'host-wide';
    await client.create(Sandboxes, object);
    const result = await kubectl(['get', 'sbx', 'wide', '-n', namespace, '-o', 'wide']);
    expect(result.code).toBe(0);
    const [header, row] = result.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'POD',
      'AGE',
      'IP',
      'RUNTIME',
      'REASON',
    ]);
    expect(row).toMatch(/^wide\s+host-wide\s+\d+s\s+nodejs$/);
  });

  test('get sbxdeploy reads like get deploy', async () => {
    const result = await kubectl(['get', 'sbxdeploy', 'listed', '-n', namespace]);
    expect(result.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual([
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
    ]);
  });

  test('explain describes the code field', async () => {
    const result = await kubectl(['explain', 'sandbox.spec.function.code']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('exactly one of inline, configMap or url');
    expect(result.stdout).toMatch(/configMap\s+<Object>/);
    expect(result.stdout).toMatch(/url\s+<Object>/);
  });

  test('scale changes replicas through the scale subresource', async () => {
    await client.create(SandboxDeployments, deployment('scaled'));
    const result = await kubectl(['scale', 'sbxdeploy/scaled', '-n', namespace, '--replicas=5']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('scaled');
    expect(
      (await client.get(SandboxDeployments, { namespace, name: 'scaled' })).spec.replicas,
    ).toBe(5);
    await client.create(SandboxReplicaSets, replicaSet('scaled-rs'));
    expect(
      (await kubectl(['scale', 'sbxrs/scaled-rs', '-n', namespace, '--replicas=0'])).code,
    ).toBe(0);
    expect(
      (await client.get(SandboxReplicaSets, { namespace, name: 'scaled-rs' })).spec.replicas,
    ).toBe(0);
  });

  test('a field selector on spec.podName lists only the Sandboxes of that pod', async () => {
    for (const [name, pod] of [
      ['on-a-1', 'pod-a'],
      ['on-a-2', 'pod-a'],
      ['on-b', 'pod-b'],
    ] as const) {
      const object = sandbox(name);
      object.spec.podName = pod;
      await client.create(Sandboxes, object);
    }
    const result = await kubectl([
      'get',
      'sbx',
      '-n',
      namespace,
      '--field-selector',
      'spec.podName=pod-a',
      '-o',
      'name',
    ]);
    expect(result.stdout.trim().split('\n').sort()).toEqual([
      'sandbox.roost.dev/on-a-1',
      'sandbox.roost.dev/on-a-2',
    ]);
    const viaClient = await client.list(Sandboxes, { fieldSelector: 'spec.podName=pod-b' });
    expect(viaClient.items.map((s) => s.metadata.name)).toEqual(['on-b']);
  });
});

test('deleting a SandboxDeployment cascades to what it owns through the garbage collector', async () => {
  const owner = await client.create(SandboxDeployments, deployment('cascade'));
  const ownerRef = (o: KubeObject, kind: string) => ({
    apiVersion: 'roost.dev/v1alpha1',
    kind,
    name: o.metadata.name!,
    uid: o.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  });
  const rs = replicaSet('cascade-1');
  rs.metadata.ownerReferences = [ownerRef(owner, 'SandboxDeployment')];
  const ownedRs = await client.create(SandboxReplicaSets, rs);
  const child = sandbox('cascade-1-a');
  child.metadata.ownerReferences = [ownerRef(ownedRs, 'SandboxReplicaSet')];
  await client.create(Sandboxes, child);

  const result = await kubectl(['delete', 'sbxdeploy', 'cascade', '-n', namespace]);
  expect(result.code).toBe(0);
  await eventually(
    async () => {
      try {
        await client.get(Sandboxes, { namespace, name: 'cascade-1-a' });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    },
    { what: 'the owned Sandbox to be garbage-collected', timeoutMs: 30_000 },
  );
  await expect(client.get(SandboxReplicaSets, { namespace, name: 'cascade-1' })).rejects.toThrow(
    /not found/,
  );
});

function findYaml(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'target')
      found.push(...findYaml(path));
    else if (/\.ya?ml$/.test(entry.name) && isRoostManifest(path)) found.push(path);
  }
  return found;
}

function isRoostManifest(path: string): boolean {
  return parseAllDocuments(readFileSync(path, 'utf8')).some((doc) =>
    String((doc.toJS() as { apiVersion?: string } | null)?.apiVersion ?? '').startsWith(
      'roost.dev/',
    ),
  );
}
