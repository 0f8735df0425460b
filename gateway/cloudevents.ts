// CloudEvents over HTTP, binary mode (ce-* headers, the body is the data) or
// structured mode (application/cloudevents+json): parsed and validated by the
// cloudevents SDK, and handed to the function as the event in its JSON form.
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent, HTTP } from 'cloudevents';
import { badRequest } from './errors.ts';

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
  const textual =
    /json|text|xml/.test(contentType) || contentType.startsWith('application/cloudevents');
  let event: CloudEvent<unknown>;
  try {
    const parsed = HTTP.toEvent({
      headers: headers as Record<string, string>,
      body: textual ? body.toString('utf8') : body,
    });
    if (Array.isArray(parsed))
      throw new Error('batched CloudEvents are not supported; send one event per request');
    // Building it again validates it: required attributes, spec version, formats.
    event = new CloudEvent(parsed);
  } catch (err) {
    throw badRequest(`Cannot read the CloudEvent: ${validationDetail(err)}`);
  }
  return event.toJSON() as Record<string, unknown>;
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
