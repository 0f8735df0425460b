// The few certificates a real-node cluster needs beyond what kube-apiserver
// makes for itself: a cluster CA, and the client certificate the API server
// shows to kubelets (for exec, logs and port-forward), so that kubelets can
// refuse anonymous callers. Made with Debian's openssl, which setup:node
// installs; EC keys, because RSA generation costs seconds on two cores.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificatePair {
  cert: string;
  key: string;
}

export interface ClusterPki {
  ca: CertificatePair;
  /** Signed by `ca`; the API server's identity towards kubelets. */
  kubeletClient: CertificatePair;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeClusterPki(dir: string): ClusterPki {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    '30',
    '-subj',
    '/CN=roost-test-cluster-ca',
  ]);
  return { ca, kubeletClient: signClientCertificate(dir, ca, 'kube-apiserver-kubelet-client') };
}

/**
 * A client certificate for `user` in `groups` (the certificate's O fields, as
 * Kubernetes reads them). The API server's is in system:masters, so every
 * kubelet's webhook authorizer allows it, as kubeadm's setup does.
 */
function signClientCertificate(
  dir: string,
  ca: CertificatePair,
  user: string,
  groups: string[] = ['system:masters'],
): CertificatePair {
  const pair = { cert: join(dir, `${user}.crt`), key: join(dir, `${user}.key`) };
  const csr = join(dir, `${user}.csr`);
  const extensions = join(dir, `${user}.ext`);
  writeFileSync(extensions, 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  const subject = [...groups.map((g) => `/O=${g}`), `/CN=${user}`].join('');
  openssl(['req', ...EC_KEY, '-keyout', pair.key, '-out', csr, '-subj', subject]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    pair.cert,
    '-days',
    '30',
    '-extfile',
    extensions,
  ]);
  return pair;
}
