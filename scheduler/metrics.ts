// The scheduler's series (lib/metrics.ts), as kube-scheduler names its own:
// every decision by result, each bind conflict, and how long a Sandbox waited
// from creation to its binding.
import { counter, histogram } from '../lib/metrics.ts';

export const schedulingAttempts = counter({
  name: 'roost_scheduler_attempts_total',
  help: 'Scheduling decisions, by result: bound, unschedulable (no host pod fits), error (the bind failed and is retried).',
  labelNames: ['result'],
});

export const bindConflicts = counter({
  name: 'roost_scheduler_bind_conflicts_total',
  help: 'Binds refused because the Sandbox had changed (409) or was bound already (422); each is retried on a fresh read.',
});

export const creationToBind = histogram({
  name: 'roost_scheduler_creation_to_bind_seconds',
  help: "From a Sandbox's creation to its binding to a host pod (creationTimestamp has one-second precision).",
  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
});
