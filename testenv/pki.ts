// The certificates a test cluster needs beyond what kube-apiserver makes for
// itself, made with the openssl CLI: EC P-256 keys, because RSA generation
// costs seconds on two cores. One CA per purpose, each leaf signed by it.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RoostError, errorMessage } from '../lib/errors.ts';

const run = promisify(execFile);
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = '3650';

export class CertificateError extends RoostError {
  constructor(message: string, cause?: unknown) {
    super('ROOST_TEST_CERTIFICATES', message, { cause });
  }
}

export interface CertificatePair {
  cert: string;
  key: string;
}

async function openssl(what: string, dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    throw new CertificateError(
      `Cannot make ${what} with openssl (is it installed?): ${errorMessage(err)}`,
      err,
    );
  }
}

/** A self-signed CA named `name`, as `<name>.crt` and `<name>.key` in `dir`. */
export async function makeCertificateAuthority(
  dir: string,
  name: string,
): Promise<CertificatePair> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(`the CA ${name}`, dir, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    DAYS,
    '-subj',
    `/CN=${name}`,
  ]);
  return ca;
}

export interface LeafOptions {
  /** File names in the CA's folder: `<name>.crt`, `<name>.key`. */
  name: string;
  /** As openssl writes it: "/O=system:masters/CN=kube-apiserver". */
  subject: string;
  /** X.509 v3 extensions, one per line: "extendedKeyUsage=clientAuth". */
  extensions: string[];
}

/** A certificate signed by `ca`. Issue one at a time per CA: each writes the CA's serial file. */
export async function issueCertificate(
  ca: CertificatePair,
  options: LeafOptions,
): Promise<CertificatePair> {
  const dir = join(ca.cert, '..');
  const file = (suffix: string) => join(dir, `${options.name}.${suffix}`);
  writeFileSync(file('ext'), `${options.extensions.join('\n')}\n`);
  const what = `the certificate ${options.name}`;
  await openssl(what, dir, [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    file('key'),
    '-out',
    file('csr'),
    '-subj',
    options.subject,
  ]);
  await openssl(what, dir, [
    'x509',
    '-req',
    '-in',
    file('csr'),
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    DAYS,
    '-extfile',
    file('ext'),
    '-out',
    file('crt'),
  ]);
  return { cert: file('crt'), key: file('key') };
}
