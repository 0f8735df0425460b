// How a sidecar makes its pod a host pod the scheduler can use: it publishes
// what the pod can hold (annotations), renews a Lease named after the pod as
// its heartbeat, and sets the pod's readiness gate once it serves.
import type { Pod } from '../kube/api/core.ts';
import { Leases, Pods } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { HOST_LEASE_RENEW_MS, HOST_READY_CONDITION, HostAnnotations } from '../kube/well-known.ts';
import type { Runtime } from '../kube/api/roost.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Capacity } from './capacity.ts';
import type { IsolationReport } from './node/isolation.ts';

export interface HostRegistrationOptions {
  client: KubeClient;
  pod: Pod;
  capacity: Capacity;
  runtimes: Runtime[];
  /** How strongly functions are kept apart here, published for schedulers and people. */
  isolation: IsolationReport;
  port: number;
  /** Default 10 s. */
  renewIntervalMs?: number;
  /** Default 40 s: four missed renewals. */
  leaseDurationSeconds?: number;
  log: Logger;
}

export class HostRegistration {
  readonly #options: HostRegistrationOptions;
  readonly #namespace: string;
  readonly #name: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HostRegistrationOptions) {
    this.#options = options;
    this.#namespace = options.pod.metadata.namespace!;
    this.#name = options.pod.metadata.name!;
  }

  /** Publishes capacity and takes the Lease; call before setReady. */
  async register(): Promise<void> {
    const { capacity, runtimes, port, isolation } = this.#options;
    await this.#options.client.patch(
      Pods,
      { namespace: this.#namespace, name: this.#name },
      {
        metadata: {
          annotations: {
            [HostAnnotations.capacityMemoryMiB]: String(capacity.memoryMiB),
            [HostAnnotations.capacityCpuMillis]: String(capacity.cpuMillis),
            [HostAnnotations.maxSandboxes]: String(capacity.maxSandboxes),
            [HostAnnotations.runtimes]: runtimes.join(','),
            [HostAnnotations.sidecarPort]: String(port),
            [HostAnnotations.isolation]: isolation.level,
            [HostAnnotations.isolationDetails]: isolation.weaknesses.length
              ? `${isolation.details}; ${isolation.weaknesses.join('; ')}`
              : isolation.details,
          },
        },
      },
    );
    await this.renew();
    this.#timer = setInterval(
      () => void this.renew(),
      this.#options.renewIntervalMs ?? HOST_LEASE_RENEW_MS,
    );
    this.#timer.unref();
  }

  /** Renews the heartbeat Lease, creating it the first time. */
  async renew(): Promise<void> {
    const { client, log } = this.#options;
    const key = { namespace: this.#namespace, name: this.#name };
    const spec = {
      holderIdentity: this.#name,
      leaseDurationSeconds: this.#options.leaseDurationSeconds ?? 40,
      renewTime: new Date().toISOString().replace('Z', '000Z'),
    };
    // A renewal that outlives its interval is worth nothing (the next one
    // carries a newer time) and would pile up behind a hung API server.
    const signal = AbortSignal.timeout(this.#options.renewIntervalMs ?? HOST_LEASE_RENEW_MS);
    try {
      await client.patch(Leases, key, { spec }, { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        log.warn({ err: errorMessage(err) }, 'cannot renew the host Lease');
        return;
      }
      try {
        await client.create(
          Leases,
          {
            metadata: {
              ...key,
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: this.#name,
                  uid: this.#options.pod.metadata.uid!,
                },
              ],
            },
            spec: { ...spec, acquireTime: spec.renewTime },
          },
          { signal },
        );
      } catch (createErr) {
        if (!isConflict(createErr))
          log.warn({ err: errorMessage(createErr) }, 'cannot create the host Lease');
      }
    }
  }

  /** Sets the pod's readiness gate condition. */
  async setReady(ready: boolean, message: string): Promise<void> {
    await this.#options.client.patch(
      Pods,
      { namespace: this.#namespace, name: this.#name },
      {
        status: {
          conditions: [
            {
              type: HOST_READY_CONDITION,
              status: ready ? 'True' : 'False',
              reason: ready ? 'SidecarServing' : 'SidecarStopping',
              message,
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
        },
      },
      { patchType: 'strategic', subresource: 'status' },
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
