import { RoostError } from '../lib/errors.ts';

/** The queue could not be reached or refused an operation. */
export class EventQueueError extends RoostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ROOST_EVENTS_UNAVAILABLE', message, options);
  }
}
