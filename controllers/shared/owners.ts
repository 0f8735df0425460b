// Ownership as the Kubernetes controllers practise it: a child belongs to the
// owner named by its ownerReference with controller=true; an owner adopts
// orphans its selector matches and releases children it no longer matches,
// so that editing labels by hand moves objects between owners predictably,
// and the garbage collector deletes children with their owner.
import type { KubeObject, LabelSelector, OwnerReference } from '../../kube/api/meta.ts';
import { apiVersionOf, type ResourceType } from '../../kube/api/resources.ts';
import { keyOf, type KubeClient } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import { matchesSelector } from '../../kube/labels.ts';

export function controllerRefOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((ref) => ref.controller);
}

export function ownerReference(owner: KubeObject, type: ResourceType<KubeObject>): OwnerReference {
  return {
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface Claim<T> {
  /** Ours and still matching. */
  owned: T[];
  /** Orphans that match: to adopt. */
  adopt: T[];
  /** Ours but no longer matching: to release. */
  release: T[];
}

/** Sorts children into owned, to adopt and to release; pure. */
export function classifyChildren<T extends KubeObject>(
  owner: KubeObject,
  selector: LabelSelector,
  children: T[],
): Claim<T> {
  const claim: Claim<T> = { owned: [], adopt: [], release: [] };
  for (const child of children) {
    const ref = controllerRefOf(child);
    const matches = matchesSelector(selector, child.metadata.labels);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      (matches ? claim.owned : claim.release).push(child);
    } else if (matches && !child.metadata.deletionTimestamp && !owner.metadata.deletionTimestamp) {
      claim.adopt.push(child);
    }
  }
  return claim;
}

/**
 * Adopts and releases as classified, each with an optimistic write (the
 * child's resourceVersion) so that two owners never both adopt one child.
 * Returns the children now owned.
 */
export async function claimChildren<T extends KubeObject>(options: {
  client: KubeClient;
  owner: KubeObject;
  ownerType: ResourceType<KubeObject>;
  childType: ResourceType<T>;
  selector: LabelSelector;
  children: T[];
}): Promise<T[]> {
  const { client, owner, ownerType, childType } = options;
  const claim = classifyChildren(owner, options.selector, options.children);
  const owned = [...claim.owned];
  for (const child of claim.adopt) {
    try {
      const adopted = await client.patch(childType, keyOf(child), {
        metadata: {
          resourceVersion: child.metadata.resourceVersion,
          ownerReferences: [
            ...(child.metadata.ownerReferences ?? []),
            ownerReference(owner, ownerType),
          ],
        },
      });
      owned.push(adopted);
    } catch (err) {
      // Someone changed it first (perhaps another owner adopted it): the
      // next reconcile sees the result.
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }
  for (const child of claim.release) {
    try {
      await client.patch(childType, keyOf(child), {
        metadata: {
          resourceVersion: child.metadata.resourceVersion,
          ownerReferences: (child.metadata.ownerReferences ?? []).filter(
            (ref) => ref.uid !== owner.metadata.uid,
          ),
        },
      });
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }
  return owned;
}
