// The autoscaler: every second it reads concurrency from the gateways, decides
// each autoscaled function's replica count (decide.ts) and sets it through the
// scale subresource, with an Event for each change. It also reacts at once,
// between ticks, when a gateway asks for a function at zero to be activated.
// It runs inside `roost controller` as a component, only while that process
// leads (a new Autoscaler per leadership term).
import type { SandboxDeployment } from '../kube/api/roost.ts';
import { SandboxDeployments } from '../kube/api/resources.ts';
import { cacheKey, type KubeClient } from '../kube/client.ts';
import type { Component, ComponentContext } from '../kube/component.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Informer } from '../kube/informer.ts';
import type { SharedInformers } from '../kube/shared-informers.ts';
import { sleep } from '../lib/duration.ts';
import { ACTIVATION_ANNOTATION } from '../kube/well-known.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { ConcurrencyCollector } from './collector.ts';
import { decideReplicas, type Sample, type ScalingSpec, type ScalingState } from './decide.ts';
import { AUTOSCALING_DEFAULTS, FUNCTION_DEFAULTS } from '../kube/api/defaults.ts';

export interface AutoscalerOptions {
  client: KubeClient;
  informers: SharedInformers;
  events: EventRecorder;
  log: Logger;
  /** Default 1 s. */
  tickMs?: number;
  /** The invoke token, sent to gateways for their concurrency reports. */
  token?: string;
}

interface FunctionScaling {
  samples: Sample[];
  state: ScalingState;
  /** The activation annotation last acted on. */
  activationSeen: string | undefined;
}

export class Autoscaler {
  readonly #options: AutoscalerOptions;
  readonly #deployments: Informer<SandboxDeployment>;
  readonly #collector: ConcurrencyCollector;
  readonly #scaling = new Map<string, FunctionScaling>();

  constructor(options: AutoscalerOptions) {
    this.#options = options;
    this.#deployments = options.informers.for(SandboxDeployments);
    this.#collector = new ConcurrencyCollector({
      informers: options.informers,
      log: options.log,
      token: options.token,
    });
    this.#deployments.addHandlers({
      onAdd: (d) => void this.#maybeActivate(d),
      onUpdate: (_, d) => void this.#maybeActivate(d),
      onDelete: (d) => this.#scaling.delete(cacheKey(d)),
    });
  }

  /** Ticks until the signal aborts; the informers are started by the caller. */
  async run(signal: AbortSignal): Promise<void> {
    const tickMs = this.#options.tickMs ?? 1000;
    while (!signal.aborted) {
      const started = Date.now();
      await this.#tick();
      await sleep(Math.max(0, tickMs - (Date.now() - started)), signal);
    }
  }

  async #tick(): Promise<void> {
    try {
      const concurrency = await this.#collector.collect();
      const now = Date.now();
      for (const deployment of this.#deployments.store.list()) {
        if (!deployment.spec.autoscaling || deployment.metadata.deletionTimestamp) continue;
        const key = cacheKey(deployment);
        const scaling = this.#scalingOf(key, now);
        const spec = scalingSpec(deployment);
        scaling.samples.push({ time: now, concurrency: concurrency.get(key) ?? 0 });
        while (scaling.samples.length > 0 && scaling.samples[0]!.time <= now - spec.stableWindowMs)
          scaling.samples.shift();
        const current = deployment.spec.replicas ?? 1;
        const decision = decideReplicas({
          spec,
          samples: scaling.samples,
          currentReplicas: current,
          readyReplicas: deployment.status?.readyReplicas ?? 0,
          now,
          state: scaling.state,
          activationRequested: false,
        });
        scaling.state = decision.state;
        if (decision.desired !== current) {
          const why = `average concurrency ${decision.stableConcurrency.toFixed(1)} over ${spec.stableWindowMs / 1000} s, ${decision.panicConcurrency.toFixed(1)} over ${spec.panicWindowMs / 1000} s${decision.panic ? ' (panic)' : ''}; ${(spec.targetConcurrency * spec.targetUtilization).toFixed(1)} per replica`;
          await this.#scale(deployment, current, decision.desired, why);
        }
      }
    } catch (err) {
      this.#options.log.warn({ err: errorMessage(err) }, 'autoscaler tick failed');
    }
  }

  /** A gateway holds requests for this function at zero: scale it to one now, not at the next tick. */
  async #maybeActivate(deployment: SandboxDeployment): Promise<void> {
    const requested = deployment.metadata.annotations?.[ACTIVATION_ANNOTATION];
    if (!requested || !deployment.spec.autoscaling) return;
    const key = cacheKey(deployment);
    const scaling = this.#scalingOf(key, Date.now());
    if (scaling.activationSeen === requested) return;
    scaling.activationSeen = requested;
    scaling.state = { ...scaling.state, lastActiveAt: Date.now() };
    const current = deployment.spec.replicas ?? 1;
    if (current > 0) return;
    const desired = Math.min(
      scalingSpec(deployment).maxReplicas,
      Math.max(1, deployment.spec.autoscaling.minReplicas ?? AUTOSCALING_DEFAULTS.minReplicas),
    );
    await this.#scale(deployment, current, desired, 'a gateway is holding requests for it').catch(
      (err: unknown) =>
        this.#options.log.warn(
          { function: key, err: errorMessage(err) },
          'cannot activate function',
        ),
    );
  }

  async #scale(
    deployment: SandboxDeployment,
    from: number,
    to: number,
    why: string,
  ): Promise<void> {
    const key = { namespace: deployment.metadata.namespace, name: deployment.metadata.name! };
    await this.#options.client.patch(
      SandboxDeployments,
      key,
      { spec: { replicas: to } },
      { subresource: 'scale' },
    );
    // The cache would otherwise show the old count until the watch catches up.
    deployment.spec.replicas = to;
    const verb =
      from === 0 ? 'Activated' : to === 0 ? 'ScaledToZero' : to > from ? 'ScaledUp' : 'ScaledDown';
    this.#options.events.normal(deployment, verb, `Scaled from ${from} to ${to} replicas: ${why}`);
    this.#options.log.info({ function: `${key.namespace}/${key.name}`, from, to, why }, 'scaled');
  }

  #scalingOf(key: string, now: number): FunctionScaling {
    let scaling = this.#scaling.get(key);
    if (!scaling) {
      // A function the autoscaler meets for the first time counts as just active,
      // so that a controller restart never scales everything to zero at once.
      scaling = {
        samples: [],
        state: { panicUntil: 0, panicReplicas: 0, lastActiveAt: now },
        activationSeen: undefined,
      };
      this.#scaling.set(key, scaling);
    }
    return scaling;
  }
}

export function scalingSpec(deployment: SandboxDeployment): ScalingSpec {
  const autoscaling = deployment.spec.autoscaling ?? {};
  return {
    minReplicas: autoscaling.minReplicas ?? AUTOSCALING_DEFAULTS.minReplicas,
    maxReplicas: autoscaling.maxReplicas ?? AUTOSCALING_DEFAULTS.maxReplicas,
    targetConcurrency:
      autoscaling.targetConcurrency ??
      deployment.spec.template.spec.function.concurrency ??
      FUNCTION_DEFAULTS.concurrency,
    targetUtilization: autoscaling.targetUtilization ?? AUTOSCALING_DEFAULTS.targetUtilization,
    stableWindowMs:
      (autoscaling.stableWindowSeconds ?? AUTOSCALING_DEFAULTS.stableWindowSeconds) * 1000,
    panicWindowMs:
      (autoscaling.panicWindowSeconds ?? AUTOSCALING_DEFAULTS.panicWindowSeconds) * 1000,
    scaleToZeroGraceMs:
      (autoscaling.scaleToZeroGraceSeconds ?? AUTOSCALING_DEFAULTS.scaleToZeroGraceSeconds) * 1000,
  };
}

export function autoscalerComponent(options: { token?: string } = {}): Component {
  return {
    name: 'autoscaler',
    setup(context: ComponentContext) {
      const autoscaler = new Autoscaler({
        client: context.client,
        informers: context.informers,
        events: context.recorder,
        log: context.log.child({ component: 'autoscaler' }),
        token: options.token,
      });
      return { run: () => autoscaler.run(context.signal) };
    },
  };
}
