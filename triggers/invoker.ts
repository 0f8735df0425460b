// Sends a batch's event to the trigger's function through a gateway's Invoke
// API (RequestResponse), as any other caller would, so that the activator
// wakes a function at zero and its limits, metrics and logs apply. Roost's
// invoke token stands in for a SigV4 signature.
//
// What comes back, in Lambda's terms: the function's result (which may list
// batchItemFailures), or the function's error (X-Amz-Function-Error). Anything
// else (the gateway unreachable, 404 for a function that is gone, 429, 5xx)
// means the function never answered for the batch, and is thrown.
import { bearer } from '../lib/bearer-token.ts';
import { RoostError } from '../lib/errors.ts';
import { triggerInvokeSeconds } from './metrics.ts';

export interface InvokeResult {
  /** Set when the function failed as a whole (its errorMessage). */
  error?: string;
  /** The ids the function reported failed, when its result had batchItemFailures. */
  batchItemFailures?: string[];
}

export class InvokeError extends RoostError {
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super('ROOST_TRIGGER_INVOKE', message);
    this.status = status;
  }
}

export interface InvokerOptions {
  /** A gateway's base URL, such as http://roost-gateway.roost-system:8080. */
  gatewayUrl: string;
  token: string | undefined;
  namespace: string;
  name: string;
  /** An alias, tag or revision of the function (the Invoke API's Qualifier); unset: its default route. */
  alias?: string;
  /** Trigger name, for the metric. */
  trigger: string;
  /** Longest a call may take before it counts as never answered (default 15 min, Lambda's longest). */
  timeoutMs?: number;
}

export function makeInvoker(options: InvokerOptions): (event: unknown) => Promise<InvokeResult> {
  const qualifier = options.alias ? `?Qualifier=${encodeURIComponent(options.alias)}` : '';
  const url = `${options.gatewayUrl.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(`${options.namespace}:function:${options.name}`)}/invocations${qualifier}`;
  const headers = {
    'content-type': 'application/json',
    'x-amz-invocation-type': 'RequestResponse',
    ...(options.token ? bearer(options.token) : {}),
  };
  return async (event) => {
    const end = triggerInvokeSeconds.startTimer({
      namespace: options.namespace,
      trigger: options.trigger,
    });
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15 * 60_000),
      });
    } catch (err) {
      throw new InvokeError(
        `Cannot reach the gateway at ${options.gatewayUrl}: ${(err as Error).message}`,
      );
    } finally {
      end();
    }
    const text = await response.text();
    if (response.status !== 200)
      throw new InvokeError(
        `The gateway answered ${response.status} for ${options.namespace}/${options.name}: ${text.slice(0, 300)}`,
        response.status,
      );
    if (response.headers.get('x-amz-function-error')) return { error: parseError(text) };
    return { batchItemFailures: parseBatchItemFailures(text) };
  };
}

function parseError(text: string): string {
  try {
    const body = JSON.parse(text) as { errorType?: string; errorMessage?: string };
    return `${body.errorType ?? 'Error'}: ${body.errorMessage ?? ''}`.slice(0, 1024);
  } catch {
    return text.slice(0, 1024);
  }
}

/** The itemIdentifiers of a result shaped { batchItemFailures: [{ itemIdentifier }] }. */
export function parseBatchItemFailures(text: string): string[] | undefined {
  let result: unknown;
  try {
    result = JSON.parse(text);
  } catch {
    return undefined;
  }
  const list = (result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (!Array.isArray(list)) return undefined;
  return list.map((item) => String((item as { itemIdentifier?: unknown })?.itemIdentifier ?? ''));
}
