// The roost.dev/v1alpha1 API as TypeScript types. crds/definitions.ts is the
// source of truth; kube/api/roost.test.ts checks these types against it.
import type { Condition, KubeObject, LabelSelector } from './meta.ts';

export type Runtime = 'nodejs' | 'java';

export interface InlineCode {
  /** Relative path to file text. */
  files: Record<string, string>;
}

export interface ConfigMapCode {
  name: string;
  /** Defaults to the only key of the ConfigMap. */
  key?: string;
}

export interface UrlCode {
  url: string;
  /** 64 lowercase hex digits. */
  sha256: string;
}

/** Exactly one source is set. */
export interface FunctionCode {
  inline?: InlineCode;
  configMap?: ConfigMapCode;
  url?: UrlCode;
}

export interface EnvVar {
  name: string;
  value?: string;
}

export interface FunctionSpec {
  runtime: Runtime;
  /** nodejs: `index.handler`; java: `com.example.Hello::handleRequest`. */
  handler: string;
  code: FunctionCode;
  env?: EnvVar[];
  /** 1..900, default 30. */
  timeoutSeconds?: number;
  /** 16..10240, default 128. */
  memoryMiB?: number;
  /** Default 100. */
  cpuMillis?: number;
  /** 1..1000, default 1. */
  concurrency?: number;
}

export interface SandboxTemplateSpec {
  function: FunctionSpec;
  /** Strong: only host pods that say roost.dev/isolation: strong. Default Any. */
  isolation?: 'Any' | 'Strong';
  /** Default 30. */
  terminationGracePeriodSeconds?: number;
}

export interface SandboxSpec extends SandboxTemplateSpec {
  /** Set once by the scheduler. */
  podName?: string;
}

export type SandboxPhase = 'Pending' | 'Starting' | 'Running' | 'Failed' | 'Terminating';

export type SandboxConditionType = 'Scheduled' | 'CodeReady' | 'Ready';

export interface Termination {
  reason?: string;
  message?: string;
  exitCode?: number;
  signal?: string;
  finishedAt?: string;
}

export interface SandboxStatus {
  phase?: SandboxPhase;
  conditions?: Condition[];
  observedGeneration?: number;
  podName?: string;
  podIP?: string;
  /** host:port of the sidecar's gRPC server. */
  address?: string;
  restartCount?: number;
  hibernated?: boolean;
  startTime?: string;
  reason?: string;
  message?: string;
  lastTermination?: Termination;
}

export interface Sandbox extends KubeObject {
  spec: SandboxSpec;
  status?: SandboxStatus;
}

export interface SandboxTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: SandboxTemplateSpec;
}

export interface WorkloadStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  /** The selector as a string, for the scale subresource. */
  selector?: string;
  conditions?: Condition[];
}

export interface SandboxReplicaSet extends KubeObject {
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    selector: LabelSelector;
    template: SandboxTemplate;
  };
  status?: WorkloadStatus & { fullyLabeledReplicas?: number };
}

/** An absolute count or a percentage such as "25%". */
export type IntOrPercent = number | string;

export interface DeploymentStrategy {
  type?: 'RollingUpdate' | 'Recreate';
  rollingUpdate?: { maxSurge?: IntOrPercent; maxUnavailable?: IntOrPercent };
}

export interface AutoscalingSpec {
  /** Default 0 (scale to zero allowed). */
  minReplicas?: number;
  /** Default 10. */
  maxReplicas?: number;
  /** Defaults to the function concurrency. */
  targetConcurrency?: number;
  /** Default 0.7. */
  targetUtilization?: number;
  /** Default 60. */
  scaleToZeroGraceSeconds?: number;
  /** Default 60. */
  stableWindowSeconds?: number;
  /** Default 6. */
  panicWindowSeconds?: number;
}

export interface FallbackResponse {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface GatewaySpec {
  timeoutSeconds?: number;
  maxConcurrency?: number;
  maxBodyBytes?: number;
  rateLimit?: { requestsPerSecond: number; burst?: number };
  fallback?: FallbackResponse;
}

/** What happens to event invocations of a function (Lambda's event invoke config). */
export interface AsyncSpec {
  /** Tries after the first that failed, 0 to 2. Default 2. */
  maxRetries?: number;
  /** Events older than this are not tried again but sent to the dead letters, 60 to 21600. Default 21600. */
  maxEventAgeSeconds?: number;
  /** Back-off before the first retry, doubling for each after, 1 to 3600. Default 1. */
  retryDelaySeconds?: number;
  /** Where an event that failed for good is sent, besides the dead-letter stream. */
  onFailure?: { function: { name: string } };
}

export interface SandboxDeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  template: SandboxTemplate;
  minReadySeconds?: number;
  strategy?: DeploymentStrategy;
  /** Default 10. */
  revisionHistoryLimit?: number;
  /** Default 600. */
  progressDeadlineSeconds?: number;
  paused?: boolean;
  autoscaling?: AutoscalingSpec;
  gateway?: GatewaySpec;
  async?: AsyncSpec;
}

export interface SandboxDeployment extends KubeObject {
  spec: SandboxDeploymentSpec;
  status?: WorkloadStatus & {
    updatedReplicas?: number;
    unavailableReplicas?: number;
    /** "ready/replicas", for kubectl get. */
    ready?: string;
    revision?: number;
    collisionCount?: number;
  };
}

export interface Endpoint {
  sandbox: string;
  address: string;
  podName: string;
  /** Template hash. */
  revision?: string;
  /** Revision number of its SandboxReplicaSet. */
  revisionNumber?: number;
  ready?: boolean;
  terminating?: boolean;
}

export interface SandboxEndpoints extends KubeObject {
  status?: {
    endpoints?: Endpoint[];
    readyCount?: number;
    summary?: string;
  };
}

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';

/** Where a trigger sends its events. */
export interface EventTarget {
  /** A SandboxDeployment in the trigger's namespace. */
  name: string;
  /** An alias, tag or revision number (`name@alias`); resolved when the event runs. Unset: the default route. */
  alias?: string;
}

/** A schedule that sends an event to a function (a CronJob for events). */
export interface CronTriggerSpec {
  /** 5-field cron, 6-field with seconds, @hourly-style nicknames, or @every 30s. */
  schedule: string;
  /** IANA time zone of the schedule; default the controller's (UTC in a cluster). */
  timeZone?: string;
  target: EventTarget;
  /** The event's detail (any JSON). */
  payload?: unknown;
  /** Default Allow. */
  concurrencyPolicy?: ConcurrencyPolicy;
  /** A scheduled time later than this is not run (seconds). */
  startingDeadlineSeconds?: number;
  /** Default false. */
  suspend?: boolean;
}

/** A run sent and not yet finished. */
export interface CronRun {
  requestId: string;
  scheduledTime: string;
}

export interface CronTrigger extends KubeObject {
  spec: CronTriggerSpec;
  status?: {
    observedGeneration?: number;
    /** The latest scheduled time that was sent (recorded before sending). */
    lastScheduleTime?: string;
    /** The latest scheduled time that was skipped (Forbid, startingDeadlineSeconds). */
    lastSkipTime?: string;
    lastSuccessfulTime?: string;
    lastFailure?: { time: string; reason: string; message: string };
    nextScheduleTime?: string;
    active?: CronRun[];
    conditions?: Condition[];
  };
}

/** One revision and its share; exactly one of revision and latestRevision is set. */
export interface RouteTarget {
  revision?: number;
  latestRevision?: boolean;
  /** 0..100, default 0; the targets add up to 100. */
  percent?: number;
  tag?: string;
}

export interface CanaryStep {
  /** 1..99, not decreasing from step to step. */
  percent: number;
  /** Default 60. */
  intervalSeconds?: number;
}

export interface CanaryPolicy {
  steps: CanaryStep[];
  /** Default 1. */
  maxErrorPercent?: number;
  /** p99 bound; none when unset. */
  maxLatencyMs?: number;
  /** Default 20. */
  minRequests?: number;
}

export interface ResolvedTarget {
  revision: number;
  replicaSet: string;
  percent: number;
  tag?: string;
  readySandboxes?: number;
}

export interface RouteAddress {
  /** Empty for the route itself. */
  tag?: string;
  revision?: number;
  path: string;
}

export type CanaryPhase = 'Progressing' | 'Promoted' | 'RolledBack';

export interface CanaryStatus {
  phase?: CanaryPhase;
  revision?: number;
  stableRevision?: number;
  step?: number;
  stepStartedAt?: string;
  message?: string;
  /**
   * The gateways' summed counts for the revision when the step began: the
   * step's window is what they counted since, whichever controller leads.
   */
  stepBaseline?: { requests: number; errors: number; latencyBuckets: number[] };
}

export interface SandboxRoute extends KubeObject {
  spec: {
    /** The SandboxDeployment it routes; cannot change. */
    deployment: string;
    targets: RouteTarget[];
    canary?: CanaryPolicy;
  };
  status?: {
    observedGeneration?: number;
    /** The split the gateways apply now. */
    targets?: ResolvedTarget[];
    addresses?: RouteAddress[];
    /** "3=90,4=10". */
    traffic?: string;
    canary?: CanaryStatus;
    conditions?: Condition[];
  };
}

/** A key of a Secret in the object's own namespace. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** A RabbitMQ queue; the Secret's key holds an amqp:// or amqps:// URL. */
export interface RabbitMQSource {
  connectionSecretRef: SecretKeyRef;
  queue: string;
}

/** A NATS JetStream stream read through a durable pull consumer. */
export interface NatsSource {
  /** The key holds a nats:// URL; without it, Roost's own queue server. */
  serverSecretRef?: SecretKeyRef;
  stream: string;
  /** Subject filter of the consumer; default every subject of the stream. */
  subject?: string;
  durable: string;
}

/** Exactly one source is set. */
export interface QueueSource {
  rabbitmq?: RabbitMQSource;
  nats?: NatsSource;
}

/** Where messages that failed for good go: `queue` for RabbitMQ, `subject` for NATS. */
export interface DeadLetterDestination {
  queue?: string;
  subject?: string;
}

/** A queue that feeds a function (a Lambda event source mapping). */
export interface QueueTriggerSpec {
  source: QueueSource;
  target: EventTarget;
  batchSize?: number;
  maxBatchingWindowSeconds?: number;
  /** Batches in flight at once, across every consumer replica's share. */
  maxConcurrency?: number;
  maxRetries?: number;
  /** Delay before the first retry; doubles after each failed try. */
  retryDelaySeconds?: number;
  deadLetter?: DeadLetterDestination;
  enabled?: boolean;
}

export interface QueueTrigger extends KubeObject {
  spec: QueueTriggerSpec;
  status?: {
    observedGeneration?: number;
    /** rabbitmq or nats (a printer column). */
    source?: string;
    /** The queue, or stream/subject (a printer column). */
    queue?: string;
    /** Messages waiting in the broker for this trigger. */
    lag?: number;
    /** Messages the function handled (acknowledged). */
    delivered?: number;
    /** Tries that failed (a message retried twice and then dead-lettered counts 3). */
    failed?: number;
    deadLettered?: number;
    lastError?: { time: string; message: string };
    conditions?: Condition[];
    /** Each roost triggers replica's own view of the broker; Ready sums them up. */
    replicas?: QueueTriggerReplica[];
    /** What Roost made in the user's broker, one entry per source; removed on delete or when the source changes. */
    created?: QueueTriggerCreated[];
  };
}

/** One roost triggers replica's connection to a trigger's broker, written by that replica. */
export interface QueueTriggerReplica {
  /** The replica's identity (its pod name in a cluster). */
  name: string;
  /** The metadata.generation of the trigger its consumer runs. */
  generation?: number;
  consuming: boolean;
  /** Why not, when not consuming: a Ready reason (BrokerUnreachable, QueueNotFound, ...). */
  reason?: string;
  message?: string;
  /** When the replica last wrote this entry; an entry left stale (the replica died) is dropped. */
  time: string;
}

/**
 * Objects Roost made in the user's broker, recorded before they are made, so
 * that deleting the trigger (or changing its source) removes exactly them and
 * never the user's own queue, stream, dead-letter queue or durable consumer.
 */
export interface QueueTriggerCreated {
  /** The source they were made on: spec.source when they were made. */
  source: QueueSource;
  /** RabbitMQ: the delay queues of retries (`<queue>.roost-retry.<ms>ms`). */
  queues?: string[];
  /** NATS: the durable consumer, when Roost created it (absent when the user had made it). */
  consumer?: string;
}
