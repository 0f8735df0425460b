// The informer's recovery from 410 Gone, with a small fake client: the watch
// expires once, and the informer must list again and report what changed in
// between as events.
import { expect, test } from 'vitest';
import { Informer } from './informer.ts';
import { KubeApiError } from './errors.ts';
import { ConfigMaps } from './api/resources.ts';
import type { ConfigMap } from './api/core.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import type { KubeList } from './api/meta.ts';

const cm = (name: string, rv: string): ConfigMap => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

test('after 410 Gone the informer lists again and reports the difference', async () => {
  const lists: KubeList<ConfigMap>[] = [
    { metadata: { resourceVersion: '10' }, items: [cm('kept', '5'), cm('removed', '6')] },
    { metadata: { resourceVersion: '20' }, items: [cm('kept', '15'), cm('added', '16')] },
  ];
  let watches = 0;
  let release: () => void = () => {};
  const fake = {
    list: async () => lists.shift() ?? { metadata: { resourceVersion: '20' }, items: [] },
    watch: async (
      _type: unknown,
      options: { signal: AbortSignal },
      _on: (e: WatchEvent<ConfigMap>) => void,
    ) => {
      watches++;
      if (watches === 1)
        throw new KubeApiError(
          410,
          { reason: 'Expired', code: 410, message: 'too old resource version' },
          'watch',
        );
      await new Promise<void>((resolve) => {
        release = resolve;
        options.signal.addEventListener('abort', () => resolve());
      });
    },
  } as unknown as KubeClient;

  const informer = new Informer(fake, ConfigMaps);
  const events: string[] = [];
  informer.addHandlers({
    onAdd: (o) => events.push(`add ${o.metadata.name}`),
    onUpdate: (_, o) => events.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  await informer.start();
  await expect.poll(() => watches).toBe(2);
  await informer.stop();
  release();

  expect(events).toEqual([
    'add kept',
    'add removed',
    'delete removed',
    'update kept@15',
    'add added',
  ]);
  expect(informer.store.keys().sort()).toEqual(['ns/added', 'ns/kept']);
});
