// The event a CronTrigger sends: EventBridge's scheduled event, so that a
// handler written for an EventBridge schedule runs unchanged. The namespace
// stands where the account does, as in the Invoke API's ARNs.
import type { CronTrigger } from '../../../kube/api/roost.ts';

export interface ScheduledEvent {
  version: '0';
  id: string;
  'detail-type': 'Scheduled Event';
  source: 'roost.cron';
  account: string;
  /** The scheduled time (not the time it was sent). */
  time: string;
  region: 'roost';
  resources: string[];
  detail: unknown;
}

export function makeScheduledEvent(
  trigger: CronTrigger,
  scheduled: Date,
  requestId: string,
): ScheduledEvent {
  return {
    version: '0',
    id: requestId,
    'detail-type': 'Scheduled Event',
    source: 'roost.cron',
    account: trigger.metadata.namespace ?? '',
    time: scheduled.toISOString().replace(/\.\d+Z$/, 'Z'),
    region: 'roost',
    resources: [`roost:${trigger.metadata.namespace}:crontrigger/${trigger.metadata.name}`],
    detail: trigger.spec.payload ?? {},
  };
}
