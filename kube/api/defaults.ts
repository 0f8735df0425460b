// The API's defaults, in one place. The CRD generator (crds/) writes them
// into the schemas, so the API server fills them in on every write; the
// components use the same values for objects that lack them (written before
// a default existed, or built in memory before they reach the server), so
// that what a component assumes is always what the API says.

/** spec.function of a Sandbox (and of every template). */
export const FUNCTION_DEFAULTS = {
  timeoutSeconds: 30,
  memoryMiB: 128,
  cpuMillis: 100,
  concurrency: 1,
} as const;

/** The rest of a Sandbox's spec. */
export const SANDBOX_DEFAULTS = {
  terminationGracePeriodSeconds: 30,
} as const;

/** SandboxReplicaSet and SandboxDeployment. */
export const WORKLOAD_DEFAULTS = {
  replicas: 1,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
} as const;

/** spec.autoscaling of a SandboxDeployment; targetConcurrency defaults to the function's concurrency. */
export const AUTOSCALING_DEFAULTS = {
  minReplicas: 0,
  maxReplicas: 10,
  targetUtilization: 0.7,
  scaleToZeroGraceSeconds: 60,
  stableWindowSeconds: 60,
  panicWindowSeconds: 6,
} as const;

/**
 * spec.async of a SandboxDeployment: what happens to event invocations, as
 * Lambda's event invoke config (retries 0 to 2, events older than six hours
 * dropped). The back-off doubles after each failed try.
 */
export const ASYNC_DEFAULTS = {
  maxRetries: 2,
  maxEventAgeSeconds: 21600,
  retryDelaySeconds: 1,
} as const;

/** A CronTrigger's spec, with the meaning these fields have for a CronJob. */
export const CRON_DEFAULTS = {
  concurrencyPolicy: 'Allow',
  suspend: false,
} as const;

/**
 * A QueueTrigger's delivery, as Lambda's event source mappings have it: 10
 * messages a batch sent at once (no batching window), two batches at a
 * time, two retries after the first try with a back-off that doubles.
 */
export const QUEUE_DEFAULTS = {
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maxConcurrency: 2,
  maxRetries: 2,
  retryDelaySeconds: 1,
  enabled: true,
} as const;

/** SandboxRoute: a target's percent, and the canary's bounds when unset. */
export const ROUTE_DEFAULTS = {
  percent: 0,
  canaryIntervalSeconds: 60,
  maxErrorPercent: 1,
  minRequests: 20,
} as const;
