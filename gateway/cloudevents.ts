// CloudEvents over HTTP, binary mode (ce-* headers, the body is the data) or
// structured mode (application/cloudevents+json): checked strictly here, then
// parsed by the cloudevents SDK, and handed to the function as the event in
// its JSON form. The SDK alone is lenient where a producer's mistake should
// show: it makes up a missing id, accepts any specversion, and replaces a
// time it cannot read with the current one. Each of those is a 400 here that
// names the attribute.
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent, HTTP } from 'cloudevents';
import { badRequest, jsonTooDeep } from './errors.ts';
import { MAX_JSON_DEPTH, jsonDepth } from './json-depth.ts';

/** The spec versions the SDK reads; 0.3 has the same required attributes as 1.0. */
export const SUPPORTED_SPEC_VERSIONS = ['1.0', '0.3'];
const REQUIRED = ['id', 'source', 'type'] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isCloudEvent(headers: IncomingHttpHeaders): boolean {
  return (
    headers['ce-specversion'] !== undefined ||
    (headers['content-type'] ?? '').startsWith('application/cloudevents')
  );
}

/** The CloudEvent of a request as the JSON object a function receives; throws 400 if malformed. */
export function toCloudEventJson(
  headers: IncomingHttpHeaders,
  body: Buffer,
): Record<string, unknown> {
  const contentType = headers['content-type'] ?? '';
  const structured = contentType.startsWith('application/cloudevents');
  if (structured && contentType.startsWith('application/cloudevents-batch'))
    throw badRequest(
      'Cannot read the CloudEvent: batched CloudEvents are not supported; send one event per request',
    );
  const textual = /json|text|xml/.test(contentType) || structured;
  const text = textual ? body.toString('utf8') : undefined;
  if (text !== undefined && /json/.test(contentType) && jsonDepth(text) > MAX_JSON_DEPTH)
    throw jsonTooDeep('the CloudEvent', MAX_JSON_DEPTH);
  const problems = structured
    ? attributeProblems(structuredAttributes(text!), (name) => `"${name}"`)
    : attributeProblems(binaryAttributes(headers), (name) => `header ce-${name}`);
  if (problems.length > 0) throw badRequest(`Cannot read the CloudEvent: ${problems.join('; ')}`);

  let event: CloudEvent<unknown>;
  try {
    const parsed = HTTP.toEvent({ headers: headers as Record<string, string>, body: text ?? body });
    if (Array.isArray(parsed))
      throw new Error('batched CloudEvents are not supported; send one event per request');
    // Building it again validates it: required attributes, spec version, formats.
    event = new CloudEvent(parsed);
  } catch (err) {
    throw badRequest(`Cannot read the CloudEvent: ${validationDetail(err)}`);
  }
  return event.toJSON() as Record<string, unknown>;
}

function binaryAttributes(headers: IncomingHttpHeaders): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const name of ['specversion', ...REQUIRED, 'time']) {
    const value = headers[`ce-${name}`];
    if (value !== undefined) attributes[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return attributes;
}

function structuredAttributes(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`Cannot read the CloudEvent: the body is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw badRequest(
      'Cannot read the CloudEvent: a structured CloudEvent is one JSON object (batches are not supported)',
    );
  return parsed as Record<string, unknown>;
}

/** Every missing or unreadable context attribute, each named with where it is sent. */
function attributeProblems(
  attributes: Record<string, unknown>,
  where: (name: string) => string,
): string[] {
  const problems: string[] = [];
  const { specversion, time } = attributes;
  if (specversion === undefined || specversion === '')
    problems.push(`specversion is missing (${where('specversion')})`);
  // A JSON object may be anything, {"toString": 0} included: compare strings only.
  else if (typeof specversion !== 'string' || !SUPPORTED_SPEC_VERSIONS.includes(specversion))
    problems.push(
      `specversion ${JSON.stringify(specversion)} is not supported (${where('specversion')}); use ${SUPPORTED_SPEC_VERSIONS.join(' or ')}`,
    );
  for (const name of REQUIRED) {
    const value = attributes[name];
    if (typeof value !== 'string' || value === '')
      problems.push(`${name} is missing (${where(name)})`);
  }
  if (
    time !== undefined &&
    (typeof time !== 'string' || !RFC3339.test(time) || !Number.isFinite(Date.parse(time)))
  )
    problems.push(
      `time ${JSON.stringify(time)} is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z (${where('time')})`,
    );
  return problems;
}

/** The cloudevents package's schema errors ({instancePath, message}) as "data must be ...; must have ...". */
function validationDetail(err: unknown): string {
  const errors = (err as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return (err as Error).message;
  return errors
    .map((e: { instancePath?: string; message?: string }) => {
      const path = e.instancePath?.replace(/^\//, '').replaceAll('/', '.');
      return `${path ? `${path} ` : ''}${e.message ?? JSON.stringify(e)}`;
    })
    .join('; ');
}
