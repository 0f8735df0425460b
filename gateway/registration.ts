// How the autoscaler finds gateways: each gateway keeps a Lease labelled
// roost.dev/gateway=true, annotated with the URL its concurrency stats are
// served at, and renews it; the autoscaler reads the fresh ones. A Lease works
// the same for gateway pods in a cluster and for processes in `roost dev`.
import { hostname } from 'node:os';
import { Leases } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { GATEWAY_LABEL, GATEWAY_URL_ANNOTATION } from '../kube/well-known.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export interface GatewayRegistrationOptions {
  client: KubeClient;
  namespace: string;
  /** Unique among gateways, such as the pod name. */
  name: string;
  url: string;
  /**
   * The gateway's own pod, in a cluster: it owns the Lease, so the Lease goes
   * with the pod even when the pod cannot delete it itself (its rights were
   * removed first, as `helm uninstall` does).
   */
  podUid?: string;
  renewIntervalMs?: number;
  log: Logger;
}

export class GatewayRegistration {
  readonly #options: GatewayRegistrationOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: GatewayRegistrationOptions) {
    this.#options = options;
  }

  static defaultName(port: number): string {
    return `roost-gateway-${hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}-${port}`
      .slice(0, 63)
      .replace(/-+$/, '');
  }

  async start(): Promise<void> {
    await this.#renew();
    this.#timer = setInterval(() => void this.#renew(), this.#options.renewIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#options.client
      .delete(Leases, { namespace: this.#options.namespace, name: this.#options.name })
      .catch(() => undefined);
  }

  async #renew(): Promise<void> {
    const { client, namespace, name, url, log } = this.#options;
    const renewTime = new Date().toISOString().replace('Z', '000Z');
    const lease = {
      metadata: {
        name,
        namespace,
        labels: { [GATEWAY_LABEL]: 'true' },
        annotations: { [GATEWAY_URL_ANNOTATION]: url },
        ...(this.#options.podUid
          ? {
              ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid: this.#options.podUid }],
            }
          : {}),
      },
      spec: { holderIdentity: name, leaseDurationSeconds: 30, renewTime },
    };
    // A renewal that outlives its interval is worth nothing and would pile up behind a hung API server.
    const signal = AbortSignal.timeout(this.#options.renewIntervalMs ?? 10_000);
    try {
      await client.patch(Leases, { namespace, name }, lease, { signal });
    } catch (err) {
      if (!isNotFound(err))
        return void log.warn({ err: errorMessage(err) }, 'cannot renew the gateway Lease');
      await client
        .create(Leases, { ...lease, spec: { ...lease.spec, acquireTime: renewTime } }, { signal })
        .catch((createErr: unknown) =>
          log.warn({ err: errorMessage(createErr) }, 'cannot create the gateway Lease'),
        );
    }
  }
}
