// What `roost controller` and `roost triggers` share as processes: the
// leader Lease settings from their flags, and a life that ends on SIGTERM
// (or the parent's death) with the work stopped and the Lease handed back,
// or on a failure of the work with exit code 1, so that whatever runs the
// process (the kubelet, roost dev) starts a fresh one, as controller-runtime's
// manager does.
import type { LeaseSettings } from '../kube/leader-election.ts';
import { serviceAccountOwner } from '../kube/service-account.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { exitWithParent } from '../lib/parent-watch.ts';
import { onShutdown } from '../lib/shutdown.ts';

export interface LeaseFlags {
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
}

export function leaseFromFlags(flags: LeaseFlags): LeaseSettings {
  return {
    namespace: flags.leaseNamespace,
    name: flags.leaseName,
    identity: flags.identity,
    durationMs: flags.leaseDuration,
    renewDeadlineMs: flags.renewDeadline,
    retryPeriodMs: flags.retryPeriod,
    // In a pod: owned by the component's ServiceAccount, so that `helm
    // uninstall` takes the Lease with it.
    owner: serviceAccountOwner(),
  };
}

/** Runs `work` until SIGTERM or the parent's death; a failure of the work exits 1. */
export async function runUntilStopped(options: {
  /** "roost controller": what failed, in the last line. */
  name: string;
  work: (signal: AbortSignal) => Promise<void>;
  /** Closes what the process opened (its metrics server, its API client). */
  close: () => Promise<void> | void;
  log: Logger;
}): Promise<void> {
  const stop = new AbortController();
  const done = options.work(stop.signal);
  const shutdown = async () => {
    stop.abort();
    await done.catch(() => undefined);
    await options.close();
  };
  onShutdown(shutdown);
  exitWithParent(() => void shutdown().finally(() => process.exit(0)));
  try {
    await done;
  } catch (err) {
    options.log.error(
      { err: errorMessage(err) },
      `${options.name} failed; exiting to be restarted`,
    );
    console.error(`${options.name} failed: ${errorMessage(err)}`);
    await options.close();
    process.exit(1);
  }
}
