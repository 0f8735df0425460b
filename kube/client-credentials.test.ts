// A component's credentials, as in a pod: a bound service-account token in a
// file, which the kubelet replaces before it expires. Here the old token is
// made invalid at once (its bound Secret deleted) after the new one is on
// disk; the client must go on working without a failed call.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigMaps, Secrets } from './api/resources.ts';
import { KubeClient } from './client.ts';
import { adminClient, createNamespace, eventually } from '../test/support/cluster.ts';

let admin: KubeClient;
let namespace: string;
let dir: string;

beforeAll(async () => {
  admin = adminClient();
  namespace = await createNamespace(admin, 'tokens');
  dir = mkdtempSync(join(tmpdir(), 'roost-sa-'));
});

afterAll(() => {
  admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A token of ServiceAccount `reader`, valid while Secret `bound` exists. */
async function boundToken(bound: string): Promise<string> {
  await admin.create(Secrets, { metadata: { namespace, name: bound }, type: 'Opaque' });
  const secret = await admin.get(Secrets, { namespace, name: bound });
  const request = await admin.raw<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/reader/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        expirationSeconds: 3600,
        boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: bound, uid: secret.metadata.uid },
      },
    },
  );
  return request.status.token;
}

test('a token replaced on disk is used at once when the old one is refused: no call fails', async () => {
  await admin.raw('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'reader' },
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'reader' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
  });
  await admin.raw(
    'POST',
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
    },
  );
  const first = await boundToken('first');
  const second = await boundToken('second');

  // The files a pod's service-account volume holds, and its environment.
  const accountDir = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(accountDir, { recursive: true });
  const cluster = admin.config.getCurrentCluster()!;
  const server = new URL(cluster.server);
  const adminConfig = new KubeConfig();
  adminConfig.loadFromString(admin.config.exportConfig());
  writeFileSync(
    join(accountDir, 'ca.crt'),
    Buffer.from(adminConfig.getCurrentCluster()!.caData!, 'base64'),
  );
  writeFileSync(join(accountDir, 'namespace'), namespace);
  writeFileSync(join(accountDir, 'token'), first);
  const saved = {
    host: process.env.KUBERNETES_SERVICE_HOST,
    port: process.env.KUBERNETES_SERVICE_PORT,
  };
  process.env.KUBERNETES_SERVICE_HOST = server.hostname;
  process.env.KUBERNETES_SERVICE_PORT = server.port;
  const config = new KubeConfig();
  try {
    config.loadFromCluster(dir);
  } finally {
    process.env.KUBERNETES_SERVICE_HOST = saved.host;
    process.env.KUBERNETES_SERVICE_PORT = saved.port;
  }
  const client = new KubeClient(config);
  try {
    expect((await client.list(ConfigMaps, { namespace })).items).toBeDefined();

    // The kubelet writes the new token, then the old one stops being valid.
    writeFileSync(join(accountDir, 'token'), second);
    await admin.delete(Secrets, { namespace, name: 'first' });
    // The old token now counts for nothing: a client that holds only it is refused.
    const stale = new KubeConfig();
    stale.loadFromOptions({
      clusters: [
        { name: 'c', server: cluster.server, caData: adminConfig.getCurrentCluster()!.caData },
      ],
      users: [{ name: 'old', token: first }],
      contexts: [{ name: 'c', cluster: 'c', user: 'old' }],
      currentContext: 'c',
    });
    const staleClient = new KubeClient(stale);
    try {
      await eventually(
        () =>
          staleClient.list(ConfigMaps, { namespace }).then(
            () => undefined,
            (err: { status?: number }) => err.status === 401,
          ),
        { what: 'the first token to be refused' },
      );
    } finally {
      staleClient.close();
    }
    const afterSwap = await client.list(ConfigMaps, { namespace });
    expect(afterSwap.items).toBeDefined();
  } finally {
    client.close();
  }
});
