// Certificates for etcd, so that it speaks only TLS and only to clients with a
// certificate of its own CA, as in every real cluster: a function can open
// sockets, and on plain HTTP it read the invoke token's Secret straight out of
// etcd. A CA, a server certificate for 127.0.0.1 and localhost (also used
// between peers) and one client certificate for kube-apiserver.
import { makeCertificateAuthority, issueCertificate } from './pki.ts';

export interface EtcdTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** Writes a CA, server and client certificates (valid 10 years) into `dir`. */
export async function makeEtcdCertificates(dir: string): Promise<EtcdTls> {
  const ca = await makeCertificateAuthority(dir, 'ca');
  const server = await issueCertificate(ca, {
    name: 'server',
    subject: '/CN=etcd',
    extensions: [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth,clientAuth',
    ],
  });
  const client = await issueCertificate(ca, {
    name: 'client',
    subject: '/CN=kube-apiserver',
    extensions: ['extendedKeyUsage=clientAuth'],
  });
  return {
    caFile: ca.cert,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
  };
}
