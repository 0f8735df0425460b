// Why a QueueTrigger cannot consume, one class per cause, each with a stable
// code and the Ready condition's reason. Messages never carry credentials:
// whatever a broker client said is passed through redact() first.
import { RoostError } from '../lib/errors.ts';

/** The reasons of the Ready condition when it is False. */
export type NotReadyReason =
  | 'BrokerUnreachable'
  | 'QueueNotFound'
  | 'TargetNotFound'
  | 'SecretNotFound'
  | 'InvalidSecret'
  | 'ForbiddenStream'
  | 'Disabled';

export class TriggerError extends RoostError {
  readonly reason: NotReadyReason;

  constructor(code: string, reason: NotReadyReason, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.reason = reason;
  }
}

export class BrokerUnreachableError extends TriggerError {
  constructor(message: string, options?: ErrorOptions) {
    super('ROOST_BROKER_UNREACHABLE', 'BrokerUnreachable', message, options);
  }
}

export class QueueNotFoundError extends TriggerError {
  constructor(message: string) {
    super('ROOST_QUEUE_NOT_FOUND', 'QueueNotFound', message);
  }
}

export class SecretNotFoundError extends TriggerError {
  constructor(message: string) {
    super('ROOST_SECRET_NOT_FOUND', 'SecretNotFound', message);
  }
}

export class InvalidSecretError extends TriggerError {
  constructor(message: string) {
    super('ROOST_INVALID_SECRET', 'InvalidSecret', message);
  }
}

export class ForbiddenStreamError extends TriggerError {
  constructor(message: string) {
    super('ROOST_FORBIDDEN_STREAM', 'ForbiddenStream', message);
  }
}

/**
 * A broker client's message with anything that looks like a URL's
 * credentials (user:password@) or the given secret values removed.
 */
export function redact(message: string, secrets: string[] = []): string {
  let text = message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join('***');
  return text;
}
