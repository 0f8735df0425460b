// Certificates for etcd, so that it speaks only TLS and only to clients with a
// certificate of its own CA, as in every real cluster: a function can open
// sockets, and on plain HTTP it read the invoke token's Secret straight out of
// etcd. A CA, a server certificate for 127.0.0.1 and localhost (also used
// between peers) and one client certificate for kube-apiserver, made with the
// openssl CLI (EC P-256 keys: tens of milliseconds, where RSA takes seconds).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RoostError, errorMessage } from '../lib/errors.ts';

const run = promisify(execFile);

export interface EtcdTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export class EtcdCertificateError extends RoostError {
  constructor(message: string, cause?: unknown) {
    super('ROOST_ETCD_CERTIFICATES', message, { cause });
  }
}

/** Writes a CA, server and client certificates (valid 10 years) into `dir`. */
export async function makeEtcdCertificates(dir: string): Promise<EtcdTls> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string) => join(dir, name);
  const tls: EtcdTls = {
    caFile: file('ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
  };
  const openssl = async (args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (err) {
      throw new EtcdCertificateError(
        `Cannot make etcd's certificates with openssl (is it installed?): ${errorMessage(err)}`,
        err,
      );
    }
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...key,
    '-keyout',
    file('ca.key'),
    '-out',
    tls.caFile,
    '-days',
    '3650',
    '-subj',
    '/CN=roost-etcd-ca',
  ]);
  writeFileSync(
    file('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const issue = async (name: string, subject: string) => {
    await openssl([
      'req',
      '-new',
      ...key,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
      '-subj',
      subject,
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      tls.caFile,
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.crt`),
    ]);
  };
  // One after the other: both write the CA's serial file.
  await issue('server', '/CN=etcd');
  await issue('client', '/CN=kube-apiserver');
  return tls;
}
