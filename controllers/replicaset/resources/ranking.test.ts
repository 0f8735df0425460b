import { expect, test } from 'vitest';
import type { Sandbox, SandboxPhase } from '../../../kube/api/roost.ts';
import { rankForDeletion } from './ranking.ts';

interface Spec {
  name: string;
  pod?: string;
  phase?: SandboxPhase;
  readySince?: string;
  restarts?: number;
  created?: string;
}

const sandbox = (s: Spec): Sandbox => ({
  metadata: { name: s.name, creationTimestamp: s.created ?? '2026-01-01T00:00:00Z' },
  spec: {
    podName: s.pod,
    function: { runtime: 'nodejs', handler: 'i.h', code: { inline: { files: {} } } },
  },
  status: {
    phase: s.phase ?? (s.readySince ? 'Running' : 'Pending'),
    restartCount: s.restarts,
    conditions: s.readySince
      ? [
          {
            type: 'Ready',
            status: 'True',
            reason: '',
            message: '',
            lastTransitionTime: s.readySince,
          },
        ]
      : [],
  },
});

test.each<{ name: string; sandboxes: Spec[]; order: string[] }>([
  {
    name: 'unbound before not ready before ready',
    sandboxes: [
      { name: 'ready', pod: 'p1', readySince: '2026-01-01T00:00:00Z' },
      { name: 'starting', pod: 'p2', phase: 'Starting' },
      { name: 'unbound' },
    ],
    order: ['unbound', 'starting', 'ready'],
  },
  {
    name: 'among not ready: Failed, then Pending, then Starting',
    sandboxes: [
      { name: 'starting', pod: 'p', phase: 'Starting' },
      { name: 'pending', pod: 'p', phase: 'Pending' },
      { name: 'failed', pod: 'p', phase: 'Failed' },
    ],
    order: ['failed', 'pending', 'starting'],
  },
  {
    name: 'among ready: the one sharing a host pod with more replicas goes first',
    sandboxes: [
      { name: 'alone', pod: 'p1', readySince: '2026-01-01T00:00:05Z' },
      { name: 'crowded-1', pod: 'p2', readySince: '2026-01-01T00:00:00Z' },
      { name: 'crowded-2', pod: 'p2', readySince: '2026-01-01T00:00:01Z' },
    ],
    order: ['crowded-2', 'crowded-1', 'alone'],
  },
  {
    name: 'then the one ready for less time',
    sandboxes: [
      { name: 'old', pod: 'p1', readySince: '2026-01-01T00:00:00Z' },
      { name: 'young', pod: 'p2', readySince: '2026-01-01T00:05:00Z' },
    ],
    order: ['young', 'old'],
  },
  {
    name: 'then more restarts',
    sandboxes: [
      { name: 'steady', pod: 'p1', readySince: '2026-01-01T00:00:00Z' },
      { name: 'flaky', pod: 'p2', readySince: '2026-01-01T00:00:00Z', restarts: 3 },
    ],
    order: ['flaky', 'steady'],
  },
  {
    name: 'then the newest',
    sandboxes: [
      { name: 'first', pod: 'p1', created: '2026-01-01T00:00:00Z' },
      { name: 'second', pod: 'p2', created: '2026-01-01T00:00:09Z' },
    ],
    order: ['second', 'first'],
  },
])('$name', ({ sandboxes, order }) => {
  expect(rankForDeletion(sandboxes.map(sandbox)).map((s) => s.metadata.name)).toEqual(order);
});
