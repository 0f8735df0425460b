// The series roost triggers serves on its /metrics.
import { counter, gauge, histogram, LATENCY_BUCKETS } from '../lib/metrics.ts';

export const triggerMessages = counter({
  name: 'roost_queue_trigger_messages_total',
  help: 'Messages settled by a queue trigger, by outcome: delivered (the function handled it), failed (a failed try), dead_lettered.',
  labelNames: ['namespace', 'trigger', 'outcome'],
});

export const triggerLag = gauge({
  name: 'roost_queue_trigger_lag',
  help: 'Messages waiting in the broker for a queue trigger (set by the leading replica).',
  labelNames: ['namespace', 'trigger'],
});

export const triggerInvokeSeconds = histogram({
  name: 'roost_queue_trigger_invoke_seconds',
  help: 'Time from sending a batch to the gateway to its answer.',
  labelNames: ['namespace', 'trigger'],
  buckets: LATENCY_BUCKETS,
});

export const triggerConsuming = gauge({
  name: 'roost_queue_trigger_consuming',
  help: "1 while this replica consumes the trigger's queue, 0 while it cannot (its own connection; status.replicas says why).",
  labelNames: ['namespace', 'trigger'],
});
