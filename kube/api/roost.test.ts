// The TypeScript types of the roost.dev API must say what the CRD schemas say.
// Each kind gets one example with every field set (DeepRequired makes the
// compiler insist on that, and refuses fields the type lacks); the test then
// compares the example's field paths with the schema's.
import { describe, expect, test } from 'vitest';
import { customResourceDefinitions } from '../../crds/definitions.ts';
import type { Schema } from '../../crds/schema.ts';
import type { Condition } from './meta.ts';
import type {
  CronTrigger,
  QueueTrigger,
  Sandbox,
  SandboxDeployment,
  SandboxEndpoints,
  SandboxReplicaSet,
  SandboxRoute,
} from './roost.ts';

type DeepRequired<T> = T extends string | number | boolean
  ? T
  : T extends (infer U)[]
    ? DeepRequired<U>[]
    : { [K in keyof T]-?: DeepRequired<T[K]> };

const condition: DeepRequired<Condition> = {
  type: 'Ready',
  status: 'True',
  observedGeneration: 1,
  lastTransitionTime: '',
  reason: '',
  message: '',
};

const template: DeepRequired<Sandbox>['spec'] = {
  podName: 'p',
  terminationGracePeriodSeconds: 30,
  isolation: 'Strong',
  function: {
    runtime: 'nodejs',
    handler: 'index.handler',
    code: {
      inline: { files: {} },
      configMap: { name: 'c', key: 'k' },
      url: { url: 'u', sha256: 's' },
    },
    env: [{ name: 'A', value: 'a' }],
    timeoutSeconds: 1,
    memoryMiB: 1,
    cpuMillis: 1,
    concurrency: 1,
  },
};
const { podName: _, ...templateSpec } = template;

const workloadStatus = {
  observedGeneration: 1,
  replicas: 1,
  readyReplicas: 1,
  availableReplicas: 1,
  selector: '',
  conditions: [condition],
};

const examples: Record<string, unknown> = {
  Sandbox: {
    apiVersion: '',
    kind: '',
    spec: template,
    status: {
      phase: 'Running',
      conditions: [condition],
      observedGeneration: 1,
      podName: '',
      podIP: '',
      address: '',
      restartCount: 0,
      hibernated: false,
      startTime: '',
      reason: '',
      message: '',
      lastTermination: { reason: '', message: '', exitCode: 0, signal: '', finishedAt: '' },
    },
  } satisfies Omit<DeepRequired<Sandbox>, 'metadata'>,
  SandboxReplicaSet: {
    apiVersion: '',
    kind: '',
    spec: {
      replicas: 1,
      minReadySeconds: 0,
      selector: { matchLabels: {} },
      template: { metadata: { labels: {}, annotations: {} }, spec: templateSpec },
    },
    status: { ...workloadStatus, fullyLabeledReplicas: 1 },
  } satisfies Omit<DeepRequired<SandboxReplicaSet>, 'metadata'>,
  SandboxDeployment: {
    apiVersion: '',
    kind: '',
    spec: {
      replicas: 1,
      selector: { matchLabels: {} },
      template: { metadata: { labels: {}, annotations: {} }, spec: templateSpec },
      minReadySeconds: 0,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
      revisionHistoryLimit: 1,
      progressDeadlineSeconds: 1,
      paused: false,
      autoscaling: {
        minReplicas: 0,
        maxReplicas: 1,
        targetConcurrency: 1,
        targetUtilization: 1,
        scaleToZeroGraceSeconds: 1,
        stableWindowSeconds: 60,
        panicWindowSeconds: 6,
      },
      gateway: {
        timeoutSeconds: 1,
        maxConcurrency: 1,
        maxBodyBytes: 1,
        rateLimit: { requestsPerSecond: 1, burst: 1 },
        fallback: { statusCode: 200, headers: {}, body: '' },
      },
      async: {
        maxRetries: 2,
        maxEventAgeSeconds: 60,
        retryDelaySeconds: 1,
        onFailure: { function: { name: '' } },
      },
    },
    status: {
      ...workloadStatus,
      updatedReplicas: 1,
      unavailableReplicas: 0,
      ready: '',
      revision: 1,
      collisionCount: 0,
    },
  } satisfies Omit<DeepRequired<SandboxDeployment>, 'metadata'>,
  SandboxEndpoints: {
    apiVersion: '',
    kind: '',
    status: {
      endpoints: [
        {
          sandbox: '',
          address: '',
          podName: '',
          revision: '',
          revisionNumber: 1,
          ready: true,
          terminating: false,
        },
      ],
      readyCount: 1,
      summary: '',
    },
  } satisfies Omit<DeepRequired<SandboxEndpoints>, 'metadata'>,
  CronTrigger: {
    apiVersion: '',
    kind: '',
    spec: {
      schedule: '',
      timeZone: '',
      target: { name: '', alias: '' },
      payload: '',
      concurrencyPolicy: 'Allow',
      startingDeadlineSeconds: 1,
      suspend: false,
    },
    status: {
      observedGeneration: 1,
      lastScheduleTime: '',
      lastSkipTime: '',
      lastSuccessfulTime: '',
      lastFailure: { time: '', reason: '', message: '' },
      nextScheduleTime: '',
      active: [{ requestId: '', scheduledTime: '' }],
      conditions: [condition],
    },
  } satisfies Omit<DeepRequired<CronTrigger>, 'metadata'>,
  QueueTrigger: {
    apiVersion: '',
    kind: '',
    spec: {
      source: {
        rabbitmq: { connectionSecretRef: { name: '', key: '' }, queue: '' },
        nats: { serverSecretRef: { name: '', key: '' }, stream: '', subject: '', durable: '' },
      },
      target: { name: '', alias: '' },
      batchSize: 1,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 1,
      maxRetries: 1,
      retryDelaySeconds: 1,
      deadLetter: { queue: '', subject: '' },
      enabled: true,
    },
    status: {
      observedGeneration: 1,
      source: '',
      queue: '',
      lag: 1,
      delivered: 1,
      failed: 1,
      deadLettered: 1,
      lastError: { time: '', message: '' },
      conditions: [condition],
      replicas: [{ name: '', generation: 1, consuming: true, reason: '', message: '', time: '' }],
      created: [
        {
          source: {
            rabbitmq: { connectionSecretRef: { name: '', key: '' }, queue: '' },
            nats: { serverSecretRef: { name: '', key: '' }, stream: '', subject: '', durable: '' },
          },
          queues: [''],
          consumer: '',
        },
      ],
    },
  } satisfies Omit<DeepRequired<QueueTrigger>, 'metadata'>,
  SandboxRoute: {
    apiVersion: '',
    kind: '',
    spec: {
      deployment: '',
      targets: [{ revision: 1, latestRevision: false, percent: 100, tag: '' }],
      canary: {
        steps: [{ percent: 10, intervalSeconds: 60 }],
        maxErrorPercent: 1,
        maxLatencyMs: 1,
        minRequests: 1,
      },
    },
    status: {
      observedGeneration: 1,
      targets: [{ revision: 1, replicaSet: '', percent: 100, tag: '', readySandboxes: 1 }],
      addresses: [{ tag: '', revision: 1, path: '' }],
      traffic: '',
      canary: {
        phase: 'Progressing',
        revision: 1,
        stableRevision: 1,
        step: 0,
        stepStartedAt: '',
        message: '',
        stepBaseline: { requests: 1, errors: 1, latencyBuckets: [1] },
      },
      conditions: [condition],
    },
  } satisfies Omit<DeepRequired<SandboxRoute>, 'metadata'>,
};

/** Paths of an object's fields; maps (Record) are leaves, arrays descend into their first item. */
function objectPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return objectPaths(value[0], `${prefix}[]`);
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, child]) => objectPaths(child, prefix ? `${prefix}.${key}` : key));
}

function schemaPaths(schema: Schema, prefix = ''): string[] {
  if (schema.type === 'array' && schema.items) return schemaPaths(schema.items, `${prefix}[]`);
  if (!schema.properties) return [prefix];
  return Object.entries(schema.properties)
    .filter(([key]) => prefix !== '' || key !== 'metadata')
    .flatMap(([key, child]) => schemaPaths(child, prefix ? `${prefix}.${key}` : key));
}

describe('TypeScript types match the CRD schemas', () => {
  test.each(customResourceDefinitions.map((crd) => (crd.spec.names as { kind: string }).kind))(
    '%s',
    (kind) => {
      const crd = customResourceDefinitions.find(
        (c) => (c.spec.names as { kind: string }).kind === kind,
      )!;
      const versions = crd.spec.versions as { schema: { openAPIV3Schema: Schema } }[];
      const fromSchema = schemaPaths(versions[0]!.schema.openAPIV3Schema).sort();
      const fromType = objectPaths(examples[kind]).sort();
      expect(fromType).toEqual(fromSchema);
    },
  );
});
