// Lambda's Invoke API on the gateway, so that code using the AWS SDK's
// LambdaClient (with `endpoint` set to the gateway) and `aws lambda invoke`
// work unchanged:
//
//   POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=...]
//
// One call, in the order it runs: name the function (function-name.ts),
// refuse a qualifier, find it (404 ResourceNotFoundException), choose the
// invocation type, admit it against the function's limits, read the body
// within the limit of that type, check the signature when the gateway
// requires one, check that the body is JSON, then DryRun (204), Event
// (queued durably, 202) or RequestResponse (run, 200 with the result, or 200
// with X-Amz-Function-Error when the function failed, as Lambda does).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InvokeResponse } from '../../proto/sandbox-host.ts';
import { GatewayError } from '../errors.ts';
import { queueEvent, MAX_EVENT_BYTES } from '../event-intake.ts';
import type { FunctionEntry } from '../function-table.ts';
import { admit, invokeCounted } from '../function-call.ts';
import { jsonDepth, MAX_JSON_DEPTH } from '../json-depth.ts';
import type { RequestContext } from '../handle-request.ts';
import { readBody } from '../read-body.ts';
import { lambdaError, lambdaErrorBody, toLambdaError } from './errors.ts';
import { parseFunctionName } from './function-name.ts';
import { chooseRevision, resolveTarget, type TrafficTarget } from '../traffic.ts';
import { verifySigV4, type SigV4Keys } from './sigv4.ts';
import type { InternalAuth } from '../internal-auth.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?(.*))?$/;

/** Roost has no published versions: every invocation runs the current revision. */
const EXECUTED_VERSION = '$LATEST';

export interface InvokeApiOptions {
  /** The namespace of a FunctionName without one (a plain name). */
  defaultNamespace: string;
  /** When set, requests must carry a SigV4 signature made with one of these keys. */
  sigv4Keys: SigV4Keys | undefined;
  /**
   * Roost's own callers (roost triggers) show the invoke token instead of a
   * signature: they hold no SigV4 key, and the token is what every internal
   * call already carries.
   */
  internalAuth?: InternalAuth;
}

type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export function isInvokeApiPath(url: string): boolean {
  return url.startsWith('/2015-03-31/');
}

/** Serves one Invoke API call; resolves with the function it was for, if known, and the status sent. */
export async function handleInvokeApi(
  context: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
): Promise<{ entry: FunctionEntry | undefined; status: number }> {
  res.setHeader('x-amzn-requestid', requestId);
  let entry: FunctionEntry | undefined;
  let release = () => {};
  try {
    const match = INVOKE_PATH.exec(req.url ?? '');
    if (!match)
      throw lambdaError(
        404,
        'UnknownOperationException',
        `${req.url} is not an API Roost serves; the Invoke API is POST /2015-03-31/functions/{FunctionName}/invocations`,
      );
    if (req.method !== 'POST')
      throw lambdaError(405, 'MethodNotAllowedException', 'Invoke takes POST');
    const query = new URLSearchParams(match[2] ?? '');
    const named = parseFunctionName(
      match[1]!,
      query.get('Qualifier') ?? undefined,
      context.invokeApi.defaultNamespace,
    );
    // The qualifier is an alias, a tag or a revision number, as in /fn/<ns>/<name>@<qualifier>.
    let target: TrafficTarget;
    try {
      target = resolveTarget(context.table, named.namespace, named.name, named.qualifier);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.status !== 404) throw err;
      const missing = context.table.get(named.namespace, named.name)
        ? `${err.message}`
        : `no SandboxDeployment ${named.name} in namespace ${named.namespace}`;
      throw lambdaError(
        404,
        'ResourceNotFoundException',
        `Function not found: ${functionArn(named.namespace, named.name)}${named.qualifier ? `:${named.qualifier}` : ''} (${missing})`,
      );
    }
    entry = target.entry;
    const fn = entry;
    const pool = chooseRevision(target);
    const type = invocationType(req);

    admit(fn);
    fn.reading++;
    let body: Buffer;
    try {
      const limitBytes =
        type === 'Event'
          ? Math.min(MAX_EVENT_BYTES, fn.settings.maxBodyBytes)
          : fn.settings.maxBodyBytes;
      const read = await readBody(req, { limitBytes, budget: context.bodies });
      release = read.release;
      body = read.body;
    } finally {
      fn.reading--;
    }
    if (context.invokeApi.sigv4Keys && !context.invokeApi.internalAuth?.accepts(req))
      await verifySigV4(req, body, context.invokeApi.sigv4Keys);
    const payload = jsonPayload(body);

    if (type === 'DryRun') return { entry, status: sendEmpty(res, 204) };
    if (type === 'Event') {
      await queueEvent(context.events, fn, {
        requestId,
        payload,
        source: 'invoke-api',
        metadata: {},
        qualifier: named.qualifier === '$LATEST' ? undefined : named.qualifier,
      });
      return { entry, status: sendEmpty(res, 202) };
    }

    const tail = String(req.headers['x-amz-log-type'] ?? '').toLowerCase() === 'tail';
    let response: InvokeResponse & { revision?: number };
    try {
      response = await invokeCounted(
        context,
        fn,
        {
          requestId,
          payload,
          metadata: { invocationType: 'RequestResponse' },
          timeoutMs: fn.settings.timeoutMs,
          tailLogs: tail,
        },
        pool,
      );
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'ROOST_FUNCTION_TIMEOUT')
        return { entry, status: sendFunctionError(res, timedOut(fn), undefined) };
      throw err;
    }
    // As Lambda: an unqualified call reports $LATEST; a qualified one the revision that ran.
    const executed =
      named.qualifier === undefined || named.qualifier === '$LATEST'
        ? undefined
        : (response.revision ?? pool.revision);
    const headers: Record<string, string> = {
      'x-amz-executed-version': executed === undefined ? EXECUTED_VERSION : String(executed),
    };
    if (tail && response.logTail)
      headers['x-amz-log-result'] = Buffer.from(response.logTail).toString('base64');
    if (response.error !== 'FUNCTION_ERROR_NONE') {
      const error =
        response.error === 'FUNCTION_ERROR_TIMEOUT'
          ? timedOut(fn)
          : {
              errorType: response.errorType || 'Error',
              errorMessage: response.errorMessage,
              trace: response.stackTrace,
            };
      return { entry, status: sendFunctionError(res, error, headers) };
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'application/json',
      'content-length': response.result.length,
    });
    res.end(response.result);
    return { entry, status: 200 };
  } catch (err) {
    const error = toLambdaError(
      err instanceof GatewayError
        ? err
        : new GatewayError(500, 'ROOST_INTERNAL', `The gateway failed: ${(err as Error).message}`),
    );
    const body = lambdaErrorBody(error);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-errortype': error.lambdaType,
      'content-length': String(Buffer.byteLength(body)),
    };
    if (error.retryAfterSeconds !== undefined)
      headers['retry-after'] = String(error.retryAfterSeconds);
    if (error.status === 413) headers.connection = 'close';
    if (!res.headersSent) res.writeHead(error.status, headers).end(body);
    return { entry, status: error.status };
  } finally {
    release();
  }
}

function invocationType(req: IncomingMessage): InvocationType {
  const value = req.headers['x-amz-invocation-type'];
  if (value === undefined) return 'RequestResponse';
  if (value === 'RequestResponse' || value === 'Event' || value === 'DryRun') return value;
  throw lambdaError(
    400,
    'InvalidParameterValueException',
    `X-Amz-Invocation-Type ${JSON.stringify(value)} is none of RequestResponse, Event, DryRun`,
  );
}

/** The body as the event: JSON, as Lambda requires; an empty body is {} as with `aws lambda invoke` without --payload. */
function jsonPayload(body: Buffer): Buffer {
  if (body.length === 0) return Buffer.from('{}');
  const text = body.toString('utf8');
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    throw lambdaError(
      400,
      'InvalidRequestContentException',
      `Could not parse request body into json: nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
  try {
    JSON.parse(text);
  } catch (err) {
    throw lambdaError(
      400,
      'InvalidRequestContentException',
      `Could not parse request body into json: ${(err as Error).message}`,
    );
  }
  return body;
}

function timedOut(fn: FunctionEntry) {
  return {
    errorType: 'Sandbox.Timedout',
    errorMessage: `Task timed out after ${(fn.settings.timeoutMs / 1000).toFixed(2)} seconds`,
    trace: [] as string[],
  };
}

/** A function's failure, as Lambda reports it: 200, X-Amz-Function-Error, the error as the body. */
function sendFunctionError(
  res: ServerResponse,
  error: { errorType: string; errorMessage: string; trace: string[] },
  headers: Record<string, string> | undefined,
): number {
  const body = JSON.stringify(error);
  res.writeHead(200, {
    'x-amz-executed-version': EXECUTED_VERSION,
    ...headers,
    'x-amz-function-error': 'Unhandled',
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
  return 200;
}

function sendEmpty(res: ServerResponse, status: number): number {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
  return status;
}

export function functionArn(namespace: string, name: string): string {
  return `arn:aws:lambda:roost:${namespace}:function:${name}`;
}
