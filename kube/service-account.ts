// Who this process is in a cluster: the ServiceAccount named in its bound
// service-account token. The API server put the account's name and uid in
// the token's claims, so no API call (and no right to read ServiceAccounts)
// is needed to point an ownerReference at it.
import { readFileSync } from 'node:fs';
import type { OwnerReference } from './api/meta.ts';

/** Where the kubelet mounts the token in every pod that has one. */
export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

interface BoundTokenClaims {
  'kubernetes.io'?: { namespace?: string; serviceaccount?: { name?: string; uid?: string } };
}

/** The claims of a JWT, unverified: only for reading what our own token says about us. */
function claimsOf(token: string): BoundTokenClaims {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as BoundTokenClaims;
  } catch {
    return {};
  }
}

/**
 * An owner reference to this process's ServiceAccount, read from the token
 * at `tokenFile`; undefined outside a pod or with a legacy token.
 */
export function serviceAccountOwner(tokenFile = IN_CLUSTER_TOKEN): OwnerReference | undefined {
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  const account = claimsOf(token)['kubernetes.io']?.serviceaccount;
  if (!account?.name || !account.uid) return undefined;
  return { apiVersion: 'v1', kind: 'ServiceAccount', name: account.name, uid: account.uid };
}
