// Fuzz: SigV4 on Invoke API calls. Any Authorization, X-Amz-Date and signed
// header list a client sends is refused 403 with Lambda's exception, never a
// throw of another kind; a request signed by the AWS SDK's own signer with a
// key the gateway knows is accepted, and the same request with one byte of
// its body changed is not.
import fc from 'fast-check';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LambdaApiError } from '../../gateway/lambda/errors.ts';
import { SigV4Keys, verifySigV4 } from '../../gateway/lambda/sigv4.ts';
import { nastyText } from './support/arbitraries.ts';
import { expectOwnError, fuzz } from './support/budget.ts';

const ACCESS_KEY = 'AKIDROOSTFUZZ';
const SECRET = 'fuzz-secret-key';
let dir: string;
let keys: SigV4Keys;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-sigv4-fuzz-'));
  writeFileSync(join(dir, ACCESS_KEY), SECRET);
  keys = new SigV4Keys(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request = (url: string, headers: Record<string, string | string[]>) =>
  ({ method: 'POST', url, headers }) as unknown as IncomingMessage;

const refused = (err: unknown) =>
  expectOwnError(err, {
    class: LambdaApiError,
    codes: [
      'ROOST_LAMBDA_InvalidSignatureException',
      'ROOST_LAMBDA_UnrecognizedClientException',
      'ROOST_LAMBDA_MissingAuthenticationTokenException',
    ],
    maxStatus: 499,
  });

test('any Authorization and X-Amz-Date a client sends is accepted only when signed, else 403', async () => {
  const amzDate = fc.oneof(
    nastyText,
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace(/[-:]|\.\d{3}/g, '')),
  );
  const signedHeaders = fc.array(
    fc.oneof(
      fc.constantFrom('host', 'x-amz-date', 'x-amz-content-sha256', 'content-type'),
      fc.stringMatching(/^[a-z0-9-]{1,12}$/),
    ),
    { maxLength: 5 },
  );
  const authorization = fc.oneof(
    nastyText,
    fc
      .tuple(
        fc.oneof(fc.constant(ACCESS_KEY), fc.stringMatching(/^[A-Z0-9]{1,20}$/)),
        fc.stringMatching(/^\d{8}$/),
        fc.stringMatching(/^[a-z0-9-]{1,12}$/),
        signedHeaders,
        fc.stringMatching(/^[0-9a-f]{64}$/),
      )
      .map(
        ([key, day, region, names, signature]) =>
          `AWS4-HMAC-SHA256 Credential=${key}/${day}/${region}/lambda/aws4_request, SignedHeaders=${names.join(';')}, Signature=${signature}`,
      ),
  );
  await fuzz(
    'SigV4: forged',
    fc.asyncProperty(
      authorization,
      fc.option(amzDate, { nil: undefined }),
      fc.uint8Array({ maxLength: 64 }),
      async (auth, date, body) => {
        const headers: Record<string, string> = {
          host: 'gw',
          authorization: auth,
          'x-amz-content-sha256': 'x',
        };
        if (date !== undefined) headers['x-amz-date'] = date;
        await expect(
          verifySigV4(
            request('/2015-03-31/functions/f/invocations', headers),
            Buffer.from(body),
            keys,
          ),
        ).rejects.toSatisfy((err) => {
          refused(err);
          return true;
        });
      },
    ),
    { share: 0.5 },
  );
});

test('a request signed by the AWS signer is accepted, and any change to its body is refused', async () => {
  await fuzz(
    'SigV4: round trip',
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.stringMatching(/^[a-z0-9-]{1,20}$/),
      fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      fc.nat(),
      async (bytes, fn, query, flip) => {
        const body = Buffer.from(bytes);
        const path = `/2015-03-31/functions/${fn}/invocations`;
        const signer = new SignatureV4({
          credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
          region: 'eu-west-1',
          service: 'lambda',
          sha256: Sha256,
        });
        const signed = await signer.sign({
          method: 'POST',
          protocol: 'http:',
          hostname: 'gw',
          path,
          query,
          headers: { host: 'gw' },
          body,
        });
        const search = new URLSearchParams(query).toString();
        const url = search ? `${path}?${search}` : path;
        const headers = signed.headers as Record<string, string>;
        await verifySigV4(request(url, headers), body, keys);
        const changed = Buffer.from(body);
        changed[flip % changed.length]! ^= 1;
        await expect(verifySigV4(request(url, headers), changed, keys)).rejects.toSatisfy((err) => {
          refused(err);
          return true;
        });
      },
    ),
    { share: 0.5 },
  );
});
