// `roost invoke <name>`: one invocation through the gateway, in one of two forms.
//
// By default, as `aws lambda invoke` does: the data is the event itself, sent
// through the gateway's Invoke API; stdout gets the function's result (its
// JSON), byte for byte, so that it can be piped.
//
// With --http, as a user's HTTP client would call the function URL: a
// request with --path, -X, -H and the data as the body; stdout gets the
// response body (and with -i the status line and headers first).
//
// Either way the request id goes to stderr.
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '../../lib/errors.ts';
import { CliContext, type GlobalFlags } from '../context.ts';
import { ExitCode, failure, notFoundError, unreachableError, usageError } from '../errors.ts';
import { withClusterOptions } from '../options.ts';

interface InvokeFlags extends GlobalFlags {
  data?: string;
  async?: boolean;
  http?: boolean;
  tail?: boolean;
  path?: string;
  method?: string;
  header?: [string, string][];
  include?: boolean;
}

export function invokeCommand(): Command {
  const command = new Command('invoke')
    .description(
      'Call a function through the gateway: the data is the event (as aws lambda invoke), or with --http an HTTP request to its URL.',
    )
    .argument('<name>', 'the function (SandboxDeployment) name')
    .option(
      '-d, --data <data>',
      'the event (JSON), or with --http the request body: inline, @file to read a file, - for stdin',
    )
    .option('--async', 'queue the invocation durably (InvocationType Event); answered 202')
    .option('--tail', "print the invocation's log lines to stderr (LogType Tail)")
    .option('--http', 'call the function URL instead: an HTTP request with --path, -X, -H')
    .option('--path <path>', 'with --http: path after the function URL, such as /items?id=1')
    .option(
      '-X, --method <method>',
      'with --http: HTTP method (default: POST with --data, else GET)',
    )
    .option(
      '-H, --header <name=value>',
      'with --http: a request header, as name=value or "name: value" (repeatable)',
      headerOption,
    )
    .option(
      '-i, --include',
      'with --http: print the status line and response headers before the body',
    )
    .addHelpText(
      'after',
      `
Examples:
  roost invoke hello --data '{"name":"Ada"}'        the event is {"name":"Ada"}
  roost invoke hello --data @event.json --tail      print its log lines too
  roost invoke hello --data - --async < event.json  queued; runs at least once
  roost invoke api --http --path '/items?id=1' -H x-team=a -i

Exit code 1 when the function failed (or, with --http, answered 4xx or 5xx),
3 when the gateway has no such function, 4 when the gateway cannot be reached.`,
    );
  return withClusterOptions(command, { gateway: true }).action(
    async (name: string, flags: InvokeFlags) => {
      const context = new CliContext(flags);
      try {
        process.exitCode = flags.http
          ? await invokeHttp(context, name, flags)
          : await invokeEvent(context, name, flags);
      } finally {
        context.close();
      }
    },
  );
}

/** The Invoke API form: the data is the event; the result is printed as the function returned it. */
async function invokeEvent(context: CliContext, name: string, flags: InvokeFlags): Promise<number> {
  const httpOnly = (
    [
      ['--path', flags.path],
      ['-X', flags.method],
      ['-H', flags.header],
      ['-i', flags.include],
    ] as const
  ).find(([, value]) => value !== undefined);
  if (httpOnly)
    throw usageError(
      `${httpOnly[0]} belongs to the function-URL form: add --http (without it, --data is the event itself)`,
    );
  const body = readData(flags.data) ?? Buffer.from('{}');
  try {
    JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw usageError(
      `Cannot send --data as the event: it is not JSON (${errorMessage(err)}); to send it as an HTTP body, add --http`,
    );
  }
  const gateway = await context.gatewayBase();
  const functionName = encodeURIComponent(`${context.namespace}:function:${name}`);
  const url = new URL(`${gateway}/2015-03-31/functions/${functionName}/invocations`);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amz-invocation-type': flags.async ? 'Event' : 'RequestResponse',
  };
  if (flags.tail) headers['x-amz-log-type'] = 'Tail';
  const response = await send(url, 'POST', headers, body, gateway);
  const requestId = response.message.headers['x-amzn-requestid'];
  const status = response.message.statusCode ?? 0;
  const logTail = response.message.headers['x-amz-log-result'];
  if (typeof logTail === 'string') process.stderr.write(Buffer.from(logTail, 'base64'));
  if (status < 300) {
    process.stdout.write(response.body);
    if (process.stdout.isTTY && response.body.length > 0 && response.body.at(-1) !== 0x0a)
      process.stdout.write('\n');
  }
  if (typeof requestId === 'string')
    process.stderr.write(`request id: ${requestId}${status === 202 ? ' (queued)' : ''}\n`);
  if (status < 300 && !response.message.headers['x-amz-function-error']) return ExitCode.ok;
  if (status < 300) {
    const error = roostErrorOf(response.body);
    throw failure('ROOST_FUNCTION_ERROR', `${name} failed: ${error?.message ?? 'unhandled error'}`);
  }
  const lambdaType = response.message.headers['x-amzn-errortype'];
  const message = lambdaMessageOf(response.body) ?? `the gateway answered ${status}`;
  if (lambdaType === 'ResourceNotFoundException')
    throw notFoundError(
      `${message}; \`roost get deployments -n ${context.namespace}\` lists the functions there`,
    );
  throw failure(`ROOST_LAMBDA_${String(lambdaType ?? 'ERROR')}`, `${name}: ${message}`);
}

/** The function-URL form: one HTTP request, printed as curl would. */
async function invokeHttp(context: CliContext, name: string, flags: InvokeFlags): Promise<number> {
  const body = readData(flags.data);
  const rawPath = flags.path ?? '/';
  const path = rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const gateway = await context.gatewayBase();
  const url = new URL(`${gateway}/fn/${context.namespace}/${name}${path === '/' ? '' : path}`);
  const headers: Record<string, string> = {};
  if (body !== undefined)
    headers['content-type'] = looksLikeJson(body) ? 'application/json' : 'text/plain';
  if (flags.async) headers['x-roost-invocation-type'] = 'Event';
  for (const [key, value] of flags.header ?? []) headers[key.toLowerCase()] = value;
  const method = (flags.method ?? (body !== undefined ? 'POST' : 'GET')).toUpperCase();

  const response = await send(url, method, headers, body, gateway);
  const requestId = response.message.headers['x-roost-request-id'];
  if (flags.include) process.stdout.write(headerBlock(response.message));
  process.stdout.write(response.body);
  // A terminal should not leave the prompt glued to the body.
  if (process.stdout.isTTY && response.body.length > 0 && response.body.at(-1) !== 0x0a)
    process.stdout.write('\n');
  if (requestId) process.stderr.write(`request id: ${requestId}\n`);

  const status = response.message.statusCode ?? 0;
  if (status < 400) return ExitCode.ok;
  const gatewayError = roostErrorOf(response.body);
  if (gatewayError?.code === 'ROOST_FUNCTION_NOT_FOUND')
    throw notFoundError(
      `${gatewayError.message}; \`roost get deployments -n ${context.namespace}\` lists the functions there`,
    );
  throw failure(
    gatewayError?.code ?? 'ROOST_HTTP_ERROR',
    `${name} answered ${status}${gatewayError ? `: ${gatewayError.message}` : ''}`,
  );
}

/** The message of a Lambda-style error body {Type, message}. */
function lambdaMessageOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

/** -H name=value or -H "name: value" (as curl takes it), repeatable. */
function headerOption(value: string, previous: [string, string][] = []): [string, string][] {
  const at = value.search(/[:=]/);
  if (at <= 0)
    throw new InvalidArgumentError(
      '--header takes name=value or "name: value", such as -H x-team=a',
    );
  return [...previous, [value.slice(0, at).trim(), value.slice(at + 1).trim()]];
}

/** --data: inline text, @file, or - for stdin. */
function readData(data: string | undefined): Buffer | undefined {
  if (data === undefined) return undefined;
  try {
    if (data === '-') return readFileSync(0);
    if (data.startsWith('@')) return readFileSync(data.slice(1));
  } catch (err) {
    throw usageError(`Cannot read --data ${data}: ${errorMessage(err)}`);
  }
  return Buffer.from(data);
}

function looksLikeJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  gateway: string,
): Promise<{ message: IncomingMessage; body: Buffer }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (message) => {
      const chunks: Buffer[] = [];
      message.on('data', (chunk: Buffer) => chunks.push(chunk));
      message.on('end', () => resolve({ message, body: Buffer.concat(chunks) }));
      message.on('error', reject);
    });
    req.on('error', (err) =>
      reject(
        unreachableError(
          `Cannot reach the gateway at ${gateway}: ${errorMessage(err)}; start a local Roost with \`roost dev\`, or pass --gateway (or set ROOST_GATEWAY)`,
          { cause: err },
        ),
      ),
    );
    req.end(body);
  });
}

/** The status line and headers, as `curl -i` prints them. */
function headerBlock(message: IncomingMessage): string {
  const lines = [
    `HTTP/${message.httpVersion} ${message.statusCode} ${message.statusMessage ?? ''}`.trimEnd(),
  ];
  for (let i = 0; i < message.rawHeaders.length; i += 2)
    lines.push(`${message.rawHeaders[i]}: ${message.rawHeaders[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * What went wrong, from the body: the gateway's own error {error: {code,
 * message}}, or a function's failure {errorType, errorMessage} (502).
 */
function roostErrorOf(body: Buffer): { code: string; message: string } | undefined {
  let parsed: {
    error?: { code?: unknown; message?: unknown };
    errorType?: unknown;
    errorMessage?: unknown;
  };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return undefined; // Not JSON: the function's own body.
  }
  const error = parsed?.error;
  if (typeof error?.code === 'string' && typeof error.message === 'string')
    return { code: error.code, message: error.message };
  if (typeof parsed?.errorType === 'string')
    return {
      code: 'ROOST_FUNCTION_ERROR',
      message: `the function failed: ${parsed.errorType}: ${String(parsed.errorMessage ?? '')}`,
    };
  return undefined;
}
