// The real-node cluster's own CA and the client certificate the API server
// shows to kubelets (for exec, logs and port-forward), so that kubelets can
// refuse anonymous callers. The certificate is in system:masters, so every
// kubelet's webhook authorizer allows it, as kubeadm's setup does.
import { issueCertificate, makeCertificateAuthority, type CertificatePair } from '../pki.ts';

export interface ClusterPki {
  ca: CertificatePair;
  /** Signed by `ca`; the API server's identity towards kubelets. */
  kubeletClient: CertificatePair;
}

export async function makeClusterPki(dir: string): Promise<ClusterPki> {
  const ca = await makeCertificateAuthority(dir, 'ca');
  const kubeletClient = await issueCertificate(ca, {
    name: 'kube-apiserver-kubelet-client',
    subject: '/O=system:masters/CN=kube-apiserver-kubelet-client',
    extensions: ['extendedKeyUsage=clientAuth', 'keyUsage=digitalSignature'],
  });
  return { ca, kubeletClient };
}
