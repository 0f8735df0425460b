import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** PEM bundle that signs the server certificate. */
  caPem: string;
  token: string;
  /** Default "roost". */
  name?: string;
}

/** A kubeconfig with one cluster, one token user and one current context. */
export function renderKubeconfig(options: KubeconfigOptions): string {
  const name = options.name ?? 'roost';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: options.server,
          'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: `${name}-admin`, user: { token: options.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
  });
}
