// .roost/dev.json: what `roost dev` runs and where, for people and for the
// CLI (which finds the gateway and the invoke token here). Written once
// everything answers; removed when roost dev stops.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevComponent {
  /** Such as "kube-apiserver", "roost gateway", "sidecar roost-system/host-1". */
  name: string;
  /** Absent once it has exited. */
  pid: number | undefined;
  address: string;
  /** How it ended, for a control-plane process that died (roost dev restarts its own components). */
  exited?: string;
  /** Its Prometheus /metrics, for Roost's own components; scrape with the token as a Bearer credential. */
  metrics?: string;
}

export interface DevState {
  /** Path of the kubeconfig, relative to the directory roost dev runs in. */
  kubeconfig: string;
  gateway: { url: string; pid: number | undefined };
  /** The web console and the key its one-time login links are signed with (`roost console --open`). */
  console?: { url: string; pid: number | undefined; loginKey: string };
  /** The invoke token sidecars require (also in Secret roost-system/roost-invoke-token). */
  token: string;
  components: DevComponent[];
  /** What each host pod offers, so that `roost host add` makes more of the same. */
  hosts: {
    runtimes: ('nodejs' | 'java')[];
    memoryMiB: number;
    /** The pools' roost.dev/allowed-namespaces: "*" or "a,b" (absent in a state file from before the flag: "*"). */
    allowedNamespaces?: string;
  };
  startedAt: string;
}

export const STATE_DIR = '.roost';

/**
 * Whose Sandboxes roost dev's host pods take, unless --allowed-namespaces
 * says otherwise: every namespace, because a dev cluster has one tenant (its
 * user) and functions in any namespace should just run. A cluster shared by
 * teams gives each pool its own list (see the README's Tenancy).
 */
export const DEV_ALLOWED_NAMESPACES = '*';

/** Where roost dev runs its host pods and keeps its Secret and Leases. */
export const DEV_NAMESPACE = 'roost-system';

/** The node roost dev's kubelet plays: host pods bound to it get a sidecar. */
export const DEV_NODE = 'roost-dev';

export function statePath(cwd = process.cwd()): string {
  return join(cwd, STATE_DIR, 'dev.json');
}

export function writeDevState(state: DevState, cwd = process.cwd()): void {
  writeFileSync(statePath(cwd), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function removeDevState(cwd = process.cwd()): void {
  rmSync(statePath(cwd), { force: true });
}
