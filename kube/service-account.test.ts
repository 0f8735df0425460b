import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { serviceAccountOwner } from './service-account.ts';

function tokenFile(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const file = join(mkdtempSync(join(tmpdir(), 'roost-sa-')), 'token');
  writeFileSync(file, `${part({ alg: 'RS256' })}.${part(claims)}.signature\n`);
  return file;
}

test('a bound token names the ServiceAccount to own the Lease', () => {
  const file = tokenFile({
    'kubernetes.io': {
      namespace: 'roost-system',
      serviceaccount: { name: 'roost-controller', uid: 'b5f1c1e2-0000-4000-8000-000000000001' },
    },
  });
  expect(serviceAccountOwner(file)).toEqual({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    name: 'roost-controller',
    uid: 'b5f1c1e2-0000-4000-8000-000000000001',
  });
});

test('outside a pod, or with a token that does not say, there is no owner', () => {
  expect(serviceAccountOwner('/nonexistent/token')).toBeUndefined();
  expect(serviceAccountOwner(tokenFile({ sub: 'system:serviceaccount:a:b' }))).toBeUndefined();
  const garbage = join(mkdtempSync(join(tmpdir(), 'roost-sa-')), 'token');
  writeFileSync(garbage, 'not-a-jwt');
  expect(serviceAccountOwner(garbage)).toBeUndefined();
});
