// Why the bridge did not load a function, in the sidecar's words: a failure
// that is the function's own (no such class or method, not a handler, a
// constructor that throws) leaves its Sandbox Failed for good with the bridge's
// message and code; anything else (the bridge unreachable or restarting) is
// worth another try.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { errorMessage } from '../../lib/errors.ts';
import { PlugError, functionLoadFailed, runtimeUnavailable } from '../errors.ts';
import { JavaBridgeCallError } from './bridge-client.ts';

/** Load failures that say something about the function (its class, its method, its jar), not about the bridge. */
export function isFunctionError(err: unknown): err is JavaBridgeCallError {
  return (
    err instanceof JavaBridgeCallError &&
    err.code.startsWith('ROOST_JAVA_') &&
    (err.grpcCode === GrpcStatus.INVALID_ARGUMENT ||
      err.grpcCode === GrpcStatus.FAILED_PRECONDITION)
  );
}

/** The bridge's message without its "Cannot load Sandbox ns/name: " prefix, with its code. */
export function loadMessage(err: JavaBridgeCallError): string {
  return `${err.details.replace(/^Cannot load Sandbox \S+: /, '')} (${err.code})`;
}

/** The PlugError for a first load that failed. */
export function plugErrorOf(key: string, err: unknown): PlugError {
  if (err instanceof PlugError) return err;
  if (isFunctionError(err))
    return functionLoadFailed(`Sandbox ${key}: cannot load the Java function: ${loadMessage(err)}`);
  return runtimeUnavailable(
    `Sandbox ${key}: the JVM bridge of this host pod did not load the function: ${errorMessage(err)}`,
  );
}
