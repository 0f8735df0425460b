// The request id of one scheduled run: fixed by the trigger and the time, so
// that a leader that fires a time again after a failover (its status write
// landed, the publish did not) publishes the same id, which the queue stores
// once.
import type { CronTrigger } from '../../kube/api/roost.ts';

export function runRequestId(trigger: CronTrigger, scheduled: Date): string {
  const uid = (trigger.metadata.uid ?? '').slice(0, 8);
  return `cron-${trigger.metadata.name}-${Math.floor(scheduled.getTime() / 1000)}-${uid}`;
}

/** The source an event of this trigger carries, by which its outcomes find their way back. */
export const triggerSource = (name: string) => `cron/${name}`;

export function triggerOfSource(source: string): string | undefined {
  return source.startsWith('cron/') ? source.slice('cron/'.length) : undefined;
}
