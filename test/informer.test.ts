// The informer against a control plane of its own, so that restarting the API
// server disturbs no other test.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startControlPlane, type ControlPlane } from '../testenv/control-plane.ts';
import { Informer } from '../kube/informer.ts';
import { ConfigMaps, Namespaces } from '../kube/api/resources.ts';
import type { ConfigMap } from '../kube/api/core.ts';
import type { KubeClient } from '../kube/client.ts';
import { eventually } from './support/cluster.ts';

let controlPlane: ControlPlane;
let client: KubeClient;
const namespace = 'informer';

beforeAll(async () => {
  controlPlane = await startControlPlane({ installCrds: false });
  client = controlPlane.client();
  await client.create(Namespaces, { metadata: { name: namespace } });
});

afterAll(async () => {
  client?.close();
  await controlPlane?.stop();
});

function configMap(
  name: string,
  labels: Record<string, string> = { app: 'watched' },
  data = 'v1',
): ConfigMap {
  return { metadata: { name, namespace, labels }, data: { value: data } };
}

test('the informer caches what matches its selector and reports adds, updates and deletes', async () => {
  await client.create(ConfigMaps, configMap('before'));
  await client.create(ConfigMaps, configMap('unwatched', { app: 'other' }));
  const informer = new Informer(client, ConfigMaps, { namespace, labelSelector: 'app=watched' });
  const seen: string[] = [];
  informer.addHandlers({
    onAdd: (o) => seen.push(`add ${o.metadata.name}`),
    onUpdate: (_, o) => seen.push(`update ${o.metadata.name} ${o.data?.value}`),
    onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  await informer.start();
  try {
    expect(informer.store.keys()).toEqual([`${namespace}/before`]);
    await client.create(ConfigMaps, configMap('after'));
    await client.patch(ConfigMaps, { namespace, name: 'before' }, { data: { value: 'v2' } });
    await client.delete(ConfigMaps, { namespace, name: 'after' });
    await eventually(() => seen.length >= 4, { what: 'four events' });
    expect(seen).toEqual(['add before', 'add after', 'update before v2', 'delete after']);
  } finally {
    await informer.stop();
  }
});

test('the informer survives an API server restart and sees changes made after it', async () => {
  const informer = new Informer(client, ConfigMaps, { namespace, labelSelector: 'app=restart' });
  await informer.start();
  try {
    await client.create(ConfigMaps, configMap('one', { app: 'restart' }));
    await eventually(() => informer.store.get(`${namespace}/one`), { what: 'the first ConfigMap' });

    await controlPlane.restartApiServer();

    await client.create(ConfigMaps, configMap('two', { app: 'restart' }));
    await client.patch(ConfigMaps, { namespace, name: 'one' }, { data: { value: 'changed' } });
    await eventually(() => informer.store.get(`${namespace}/two`), {
      what: 'the ConfigMap created after the restart',
      timeoutMs: 30_000,
    });
    await eventually(() => informer.store.get(`${namespace}/one`)?.data?.value === 'changed', {
      what: 'the update made after the restart',
      timeoutMs: 30_000,
    });
  } finally {
    await informer.stop();
  }
});
