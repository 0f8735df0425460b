// Errors from the API server, with the reason Kubernetes gives (NotFound,
// Conflict, AlreadyExists, Invalid, Gone, ...) as part of a stable code.
import { RoostError } from '../lib/errors.ts';
import type { Status } from './api/meta.ts';

export class KubeApiError extends RoostError {
  /** HTTP status code. */
  readonly status: number;
  /** metav1.Status reason, such as NotFound or Conflict. */
  readonly reason: string;
  readonly causes: { field?: string; message?: string; reason?: string }[];

  constructor(status: number, body: Status | undefined, what: string) {
    const reason = body?.reason || `HTTP${status}`;
    super(`ROOST_KUBE_${reason.toUpperCase()}`, `${what}: ${body?.message || `HTTP ${status}`}`);
    this.status = status;
    this.reason = reason;
    this.causes = body?.details?.causes ?? [];
  }
}

export class KubeConnectionError extends RoostError {
  constructor(server: string, cause: unknown) {
    super(
      'ROOST_KUBE_UNREACHABLE',
      `Cannot reach the Kubernetes API server at ${server}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * A call cancelled by its caller's signal: a deadline passed (a Lease renewal
 * past its renew deadline) or the work it belonged to ended (a leadership
 * term). Whether the server saw a request that was already sent is unknown.
 */
export class KubeCancelledError extends RoostError {
  constructor(what: string, reason: unknown) {
    super(
      'ROOST_KUBE_CANCELLED',
      `${what}: cancelled (${reason instanceof Error ? reason.message : String(reason ?? 'aborted')})`,
      { cause: reason },
    );
  }
}

export const isCancelled = (err: unknown): boolean => err instanceof KubeCancelledError;

export const isNotFound = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason === 'Conflict';
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.status === 410;
export const isInvalid = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 422;
