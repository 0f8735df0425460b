// AWS Signature Version 4 on Invoke API requests. Clients such as the AWS SDK
// always sign; whether the gateway checks the signature is its choice
// (--invoke-api-auth sigv4): `roost dev` accepts any signature, a cluster
// can require one made with a key it knows. The keys are files in a
// directory, one per access key id holding its secret key (a mounted Secret,
// so a key is added or revoked by editing the Secret, without a restart).
//
// The signature is recomputed with @smithy/signature-v4, the AWS SDK's own
// signer, over exactly the headers the client said it signed, and compared in
// constant time: the gateway never re-implements the canonical request.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { lambdaError } from './errors.ts';

/** How far a request's X-Amz-Date may be from now, as AWS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;
/** A key not found is looked for again at most this often (the Secret may have changed). */
const RELOAD_MS = 5000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export class SigV4Keys {
  readonly #dir: string;
  #keys = new Map<string, string>();
  #loadedAt = 0;

  /** @param dir a directory of files named by access key id, each holding the secret key. */
  constructor(dir: string) {
    this.#dir = dir;
    this.#load();
  }

  secretFor(accessKeyId: string): string | undefined {
    if (!this.#keys.has(accessKeyId) && Date.now() - this.#loadedAt > RELOAD_MS) this.#load();
    return this.#keys.get(accessKeyId);
  }

  #load(): void {
    const keys = new Map<string, string>();
    // A mounted Secret also holds ..data links and dot folders: only plain names are keys.
    for (const entry of readdirSync(this.#dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.isDirectory()) continue;
      keys.set(entry.name, readFileSync(join(this.#dir, entry.name), 'utf8').trim());
    }
    this.#keys = keys;
    this.#loadedAt = Date.now();
  }
}

/**
 * Checks the request's SigV4 signature over its method, path, query, signed
 * headers and body; throws a 403 (Lambda's InvalidSignatureException or
 * UnrecognizedClientException) naming what does not hold.
 */
export async function verifySigV4(
  req: IncomingMessage,
  body: Buffer,
  keys: SigV4Keys,
  now = Date.now(),
): Promise<void> {
  const authorization = req.headers.authorization;
  if (!authorization)
    throw forbidden('MissingAuthenticationTokenException', 'The request is not signed (SigV4)');
  const match = AUTHORIZATION.exec(authorization);
  if (!match) throw invalid('The Authorization header is not an AWS4-HMAC-SHA256 signature');
  const [, accessKeyId, , region, service, signedHeaderList, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const secretAccessKey = keys.secretFor(accessKeyId);
  if (!secretAccessKey)
    throw forbidden(
      'UnrecognizedClientException',
      `The access key id ${accessKeyId} is not one this gateway knows`,
    );

  const amzDate = header(req, 'x-amz-date');
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!signingDate) throw invalid('X-Amz-Date is missing or not of the form 20060102T150405Z');
  if (Math.abs(now - signingDate.getTime()) > MAX_SKEW_MS)
    throw invalid(`X-Amz-Date ${amzDate} is more than 15 minutes from the gateway's clock`);

  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) throw invalid('SignedHeaders must include host');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    if (name === 'x-amz-date') continue; // The signer writes it from signingDate.
    const value = header(req, name);
    if (value === undefined) throw invalid(`The signed header ${name} is not in the request`);
    headers[name] = value;
  }
  const declaredHash = headers['x-amz-content-sha256'];
  if (
    declaredHash !== undefined &&
    declaredHash !== createHash('sha256').update(body).digest('hex')
  )
    throw invalid('X-Amz-Content-Sha256 is not the SHA-256 of the body');

  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region,
    service,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: req.method ?? 'POST',
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: queryAt < 0 ? url : url.slice(0, queryAt),
      query: queryAt < 0 ? {} : parseQuery(url.slice(queryAt + 1)),
      headers,
      body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  if (
    expected.length !== signature.length ||
    !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))
  )
    throw invalid(
      'The request signature does not match: check the secret key and that nothing rewrote the request on its way',
    );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

/** The query as the signer takes it: decoded names to decoded values (lists for repeats). */
function parseQuery(text: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const previous = query[key];
    query[key] = previous === undefined ? value : [previous, value].flat();
  }
  return query;
}

const forbidden = (type: string, message: string) => lambdaError(403, type, message);
const invalid = (message: string) => forbidden('InvalidSignatureException', message);
