// Finalizers, added and removed the same way by every Roost component.
import type { KubeObject } from './api/meta.ts';
import type { ResourceType } from './api/resources.ts';
import { keyOf, type KubeClient } from './client.ts';

/**
 * Removes `finalizer` from `object` with a JSON patch that tests the uid and
 * the entry it removes, not the resourceVersion read from a cache: writes
 * made since (status, the deletion itself) have moved the resourceVersion
 * on, and a stale one would only earn a 409 and a retry, while the tests
 * make sure another owner's finalizer (or a new object of the same name)
 * is never touched. Does nothing when the object does not carry it.
 */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType<T>,
  object: T,
  finalizer: string,
): Promise<void> {
  const index = object.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return;
  const path = `/metadata/finalizers/${index}`;
  await client.patch(
    type,
    keyOf(object),
    [
      { op: 'test', path: '/metadata/uid', value: object.metadata.uid },
      { op: 'test', path, value: finalizer },
      { op: 'remove', path },
    ],
    { patchType: 'json' },
  );
}
