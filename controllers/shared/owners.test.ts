import { expect, test } from 'vitest';
import type { KubeObject } from '../../kube/api/meta.ts';
import { classifyChildren } from './owners.ts';

const owner: KubeObject = { metadata: { name: 'rs', uid: 'mine' } };
const child = (
  name: string,
  labels: Record<string, string>,
  controllerUid?: string,
  deleting = false,
): KubeObject => ({
  metadata: {
    name,
    labels,
    deletionTimestamp: deleting ? 'x' : undefined,
    ownerReferences: controllerUid
      ? [{ apiVersion: 'v', kind: 'K', name: 'o', uid: controllerUid, controller: true }]
      : undefined,
  },
});

test.each([
  { name: 'ours and matching: owned', child: child('c', { app: 'a' }, 'mine'), want: 'owned' },
  {
    name: 'ours but no longer matching: released',
    child: child('c', { app: 'b' }, 'mine'),
    want: 'release',
  },
  { name: 'an orphan that matches: adopted', child: child('c', { app: 'a' }), want: 'adopt' },
  {
    name: 'an orphan being deleted: left alone',
    child: child('c', { app: 'a' }, undefined, true),
    want: 'none',
  },
  {
    name: "another owner's child: left alone",
    child: child('c', { app: 'a' }, 'theirs'),
    want: 'none',
  },
  {
    name: 'an orphan that does not match: left alone',
    child: child('c', { app: 'b' }),
    want: 'none',
  },
])('$name', ({ child, want }) => {
  const claim = classifyChildren(owner, { matchLabels: { app: 'a' } }, [child]);
  const found = (['owned', 'adopt', 'release'] as const).find((k) => claim[k].length > 0) ?? 'none';
  expect(found).toBe(want);
});
