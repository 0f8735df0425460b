// The CustomResourceDefinitions of the roost.dev API. `npm run generate:crds`
// writes them to crds/*.yaml, the files that get installed; a test checks that
// the YAML is current and that the TypeScript types in kube/api/ match.
import {
  array,
  boolean,
  conditions,
  integer,
  intOrString,
  labelMap,
  number,
  object,
  string,
  stringMap,
  timestamp,
  type Schema,
} from './schema.ts';
import { HOP_BY_HOP_HEADERS } from '../lib/http-headers.ts';
import { sandboxTemplateSpecProperties, templateMetadata } from './function-spec.ts';
import {
  ASYNC_DEFAULTS,
  AUTOSCALING_DEFAULTS,
  CRON_DEFAULTS,
  QUEUE_DEFAULTS,
  ROUTE_DEFAULTS,
  WORKLOAD_DEFAULTS,
} from '../kube/api/defaults.ts';

export const GROUP = 'roost.dev';
export const VERSION = 'v1alpha1';

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

interface CrdOptions {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec?: Schema;
  status: Schema;
  columns: PrinterColumn[];
  scale?: boolean;
  selectableFields?: string[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

function crd(options: CrdOptions): CustomResourceDefinition {
  const properties: Record<string, Schema> = {
    apiVersion: string('The versioned schema of this object.'),
    kind: string('The REST resource this object represents.'),
    // The API server allows no description (or anything else) on metadata.
    metadata: { type: 'object' } as Schema,
  };
  if (options.spec) properties.spec = options.spec;
  properties.status = options.status;
  const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${options.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'roost' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        shortNames: options.shortNames,
        categories: ['roost'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: options.description,
              properties,
              ...(options.spec ? { required: ['spec'] } : {}),
            },
          },
          subresources: {
            status: {},
            ...(options.scale
              ? {
                  scale: {
                    specReplicasPath: '.spec.replicas',
                    statusReplicasPath: '.status.replicas',
                    labelSelectorPath: '.status.selector',
                  },
                }
              : {}),
          },
          additionalPrinterColumns: [
            ...options.columns.filter((c) => !c.priority),
            age,
            ...options.columns.filter((c) => c.priority),
          ],
          ...(options.selectableFields
            ? { selectableFields: options.selectableFields.map((jsonPath) => ({ jsonPath })) }
            : {}),
        },
      ],
    },
  };
}

const selector = object(
  'Which Sandboxes belong to this object. Defaults to roost.dev/deployment=<name> for a SandboxDeployment; a SandboxReplicaSet requires it.',
  { matchLabels: labelMap('Labels a Sandbox must carry, all of them.', { minProperties: 1 }) },
  { required: ['matchLabels'] },
);

const selectorMatchesTemplate = {
  rule: `!has(self.selector) || self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])`,
  message: 'template.metadata.labels must carry every label of selector.matchLabels',
  fieldPath: '.template.metadata.labels',
};

const template = object(
  'The Sandbox to stamp out for each replica.',
  {
    metadata: templateMetadata,
    spec: object('The Sandbox spec, without podName.', sandboxTemplateSpecProperties, {
      required: ['function'],
    }),
  },
  { required: ['spec'] },
);

const replicas = integer('How many Sandboxes to keep.', {
  minimum: 0,
  maximum: 10000,
  default: WORKLOAD_DEFAULTS.replicas,
});

const minReadySeconds = integer('How long a Sandbox must be Ready before it counts as available.', {
  minimum: 0,
  maximum: 3600,
  default: 0,
});

const statusCounters = {
  observedGeneration: integer('The metadata.generation this status describes.', { minimum: 0 }),
  replicas: integer('Sandboxes that exist, of any state.', { minimum: 0 }),
  readyReplicas: integer('Sandboxes whose Ready condition is True.', { minimum: 0 }),
  availableReplicas: integer('Sandboxes Ready for at least minReadySeconds.', { minimum: 0 }),
  selector: string('The label selector as a string, for the scale subresource.'),
};

const sandbox = crd({
  kind: 'Sandbox',
  plural: 'sandboxes',
  shortNames: ['sbx'],
  description:
    'One instance of a function, plugged into a host pod the way a Pod runs on a Node. The scheduler sets spec.podName; the sidecar of that pod starts the function and reports status.',
  spec: object(
    'What to run and where.',
    {
      podName: string(
        'The host pod this Sandbox is bound to. Set once by the scheduler (or by hand); it cannot change after.',
        { maxLength: 253 },
      ),
      ...sandboxTemplateSpecProperties,
    },
    {
      required: ['function'],
      'x-kubernetes-validations': [
        {
          rule: `!has(oldSelf.podName) || oldSelf.podName == '' || (has(self.podName) && self.podName == oldSelf.podName)`,
          message: 'podName cannot change once the Sandbox is bound to a pod',
          fieldPath: '.podName',
          reason: 'FieldValueForbidden',
        },
      ],
    },
  ),
  status: object('What the sidecar observed.', {
    phase: string('Pending, Starting, Running, Failed or Terminating.', {
      enum: ['Pending', 'Starting', 'Running', 'Failed', 'Terminating'],
    }),
    conditions: conditions('Scheduled, CodeReady and Ready.'),
    observedGeneration: integer('The metadata.generation this status describes.', { minimum: 0 }),
    podName: string('The host pod that runs this Sandbox.'),
    podIP: string('IP of that host pod.'),
    address: string('host:port of the sidecar serving this Sandbox over gRPC.'),
    restartCount: integer('Times the function process was restarted.', { minimum: 0 }),
    hibernated: boolean(
      'True while an idle Sandbox has no process; the next invocation resumes it.',
    ),
    startTime: timestamp('When the sidecar started the function.'),
    reason: string(
      'One CamelCase word on why the Sandbox is in this phase, such as CodeFetchFailed or OOMKilled.',
    ),
    message: string('Details for a human.'),
    lastTermination: object('How the function process last ended, if it did.', {
      reason: string('Such as Error, OOMKilled, Timeout or Completed.'),
      message: string('Details, such as the error the function threw.'),
      exitCode: integer('Exit code of the process, if it exited.'),
      signal: string('Signal that ended the process, if one did.'),
      finishedAt: timestamp('When it ended.'),
    }),
  }),
  columns: [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Status', type: 'string', jsonPath: '.status.phase' },
    { name: 'Restarts', type: 'integer', jsonPath: '.status.restartCount' },
    { name: 'Pod', type: 'string', jsonPath: '.spec.podName' },
    { name: 'IP', type: 'string', jsonPath: '.status.podIP', priority: 1 },
    { name: 'Runtime', type: 'string', jsonPath: '.spec.function.runtime', priority: 1 },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason', priority: 1 },
  ],
  selectableFields: ['.spec.podName', '.spec.function.runtime'],
});

const sandboxReplicaSet = crd({
  kind: 'SandboxReplicaSet',
  plural: 'sandboxreplicasets',
  shortNames: ['sbxrs'],
  description:
    'Keeps a number of identical Sandboxes of one template revision, as a ReplicaSet keeps Pods.',
  spec: object(
    'The Sandboxes to keep.',
    { replicas, minReadySeconds, selector, template },
    { required: ['selector', 'template'], 'x-kubernetes-validations': [selectorMatchesTemplate] },
  ),
  status: object('What the controller observed.', {
    ...statusCounters,
    fullyLabeledReplicas: integer('Sandboxes whose labels match the template.', { minimum: 0 }),
    conditions: conditions('ReplicaFailure when Sandboxes cannot be created or deleted.'),
  }),
  columns: [
    { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Current', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Selector', type: 'string', jsonPath: '.status.selector', priority: 1 },
  ],
  scale: true,
});

const percentOrCount = (what: string) =>
  intOrString(`${what} An absolute number (5) or a percentage of replicas ("25%").`, {
    pattern: '^(100|[1-9]?[0-9])%$',
    'x-kubernetes-validations': [
      {
        rule: `type(self) == string || int(self) >= 0`,
        message: 'must not be negative',
      },
    ],
  });

const sandboxDeployment = crd({
  kind: 'SandboxDeployment',
  plural: 'sandboxdeployments',
  shortNames: ['sbxdeploy', 'sbxd'],
  description:
    'A function: its Sandboxes, their revisions and rollouts, autoscaling and gateway settings, as a Deployment manages ReplicaSets.',
  spec: object(
    'The desired state of the function.',
    {
      replicas: integer(
        'How many Sandboxes to run. With autoscaling set, the autoscaler owns this field through the scale subresource.',
        { minimum: 0, maximum: 10000, default: WORKLOAD_DEFAULTS.replicas },
      ),
      selector,
      template,
      minReadySeconds,
      strategy: object(
        'How to replace old Sandboxes with new ones.',
        {
          type: string('RollingUpdate (default) or Recreate.', {
            enum: ['RollingUpdate', 'Recreate'],
            default: 'RollingUpdate',
          }),
          rollingUpdate: object(
            'Bounds of a rolling update.',
            {
              maxSurge: percentOrCount(
                'Most Sandboxes above replicas during a rollout (default 25%).',
              ),
              maxUnavailable: percentOrCount(
                'Most Sandboxes below replicas that may be unavailable during a rollout (default 25%).',
              ),
            },
            {
              'x-kubernetes-validations': [
                {
                  rule: `!(has(self.maxSurge) && has(self.maxUnavailable) && (self.maxSurge == 0 || self.maxSurge == '0%') && (self.maxUnavailable == 0 || self.maxUnavailable == '0%'))`,
                  message: 'maxSurge and maxUnavailable cannot both be zero',
                },
              ],
            },
          ),
        },
        {
          default: {},
          'x-kubernetes-validations': [
            {
              rule: `!has(self.type) || self.type != 'Recreate' || !has(self.rollingUpdate)`,
              message: 'rollingUpdate may only be set when type is RollingUpdate',
              fieldPath: '.rollingUpdate',
            },
          ],
        },
      ),
      revisionHistoryLimit: integer('How many old SandboxReplicaSets to keep for rollback.', {
        minimum: 0,
        maximum: 100,
        default: WORKLOAD_DEFAULTS.revisionHistoryLimit,
      }),
      progressDeadlineSeconds: integer(
        'How long a rollout may make no progress before Progressing turns False.',
        { minimum: 1, default: WORKLOAD_DEFAULTS.progressDeadlineSeconds },
      ),
      paused: boolean('Stops rolling out template changes while true.'),
      autoscaling: object(
        'Scale on in-flight requests. Without this section, replicas stays where it is set.',
        {
          minReplicas: integer(
            'Fewest Sandboxes, kept warm even without traffic (the reserved instances). 0 allows scale to zero.',
            { minimum: 0, maximum: 10000, default: AUTOSCALING_DEFAULTS.minReplicas },
          ),
          maxReplicas: integer('Most Sandboxes.', {
            minimum: 1,
            maximum: 10000,
            default: AUTOSCALING_DEFAULTS.maxReplicas,
          }),
          targetConcurrency: integer(
            'In-flight requests each Sandbox should carry. Defaults to the function concurrency.',
            { minimum: 1, maximum: 1000 },
          ),
          targetUtilization: number('Fraction of targetConcurrency to aim for, leaving headroom.', {
            minimum: 0.1,
            maximum: 1,
            default: AUTOSCALING_DEFAULTS.targetUtilization,
          }),
          scaleToZeroGraceSeconds: integer(
            'How long without traffic before scaling to zero when minReplicas is 0.',
            { minimum: 0, maximum: 86400, default: AUTOSCALING_DEFAULTS.scaleToZeroGraceSeconds },
          ),
          stableWindowSeconds: integer(
            'Concurrency is averaged over this window to decide the replica count (and to scale down).',
            { minimum: 6, maximum: 3600, default: AUTOSCALING_DEFAULTS.stableWindowSeconds },
          ),
          panicWindowSeconds: integer(
            'A shorter window: when concurrency over it reaches twice what the current replicas can take, the autoscaler scales up at once and does not scale down.',
            { minimum: 1, maximum: 600, default: AUTOSCALING_DEFAULTS.panicWindowSeconds },
          ),
        },
        {
          'x-kubernetes-validations': [
            {
              rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
              message: 'minReplicas must not exceed maxReplicas',
              fieldPath: '.minReplicas',
            },
            {
              rule: '!has(self.panicWindowSeconds) || !has(self.stableWindowSeconds) || self.panicWindowSeconds <= self.stableWindowSeconds',
              message: 'panicWindowSeconds must not exceed stableWindowSeconds',
              fieldPath: '.panicWindowSeconds',
            },
          ],
        },
      ),
      gateway: object('How the gateway treats requests for this function.', {
        timeoutSeconds: integer(
          'Longest the gateway waits for a response. Defaults to the function timeoutSeconds.',
          { minimum: 1, maximum: 900 },
        ),
        maxConcurrency: integer(
          'Most requests in flight through the gateway; more are refused with 429.',
          { minimum: 1, maximum: 100000 },
        ),
        maxBodyBytes: integer(
          'Largest request body accepted (default 6 MB); larger ones get 413.',
          {
            minimum: 1,
            maximum: 104857600,
          },
        ),
        rateLimit: object(
          'A token bucket per gateway: requestsPerSecond refill, up to burst at once.',
          {
            requestsPerSecond: number('Sustained requests per second.', { minimum: 0.001 }),
            burst: integer(
              'Requests allowed at once above the rate. Defaults to requestsPerSecond.',
              {
                minimum: 1,
              },
            ),
          },
          { required: ['requestsPerSecond'] },
        ),
        fallback: object('Returned instead of a 5xx while the function is failing (degradation).', {
          statusCode: integer('HTTP status of the fallback response.', {
            minimum: 200,
            maximum: 599,
            default: 200,
          }),
          headers: stringMap(
            'Headers of the fallback response: names are HTTP tokens, values one line each; the gateway frames the response itself, so Content-Length, Transfer-Encoding and the connection headers are refused.',
            {
              maxProperties: 32,
              additionalProperties: {
                type: 'string',
                maxLength: 4096,
              },
              'x-kubernetes-validations': [
                {
                  rule: "self.all(name, name.matches('^[A-Za-z0-9!#$%&\\'*+.^_`|~-]{1,256}$'))",
                  message: "header names must be HTTP tokens (letters, digits and !#$%&'*+.^_`|~-)",
                },
                {
                  rule: `self.all(name, !(name.lowerAscii() in [${[...HOP_BY_HOP_HEADERS].map((h) => `'${h}'`).join(', ')}]))`,
                  message:
                    'the gateway frames the response itself: Content-Length, Transfer-Encoding and the connection headers cannot be set',
                },
                {
                  rule: "self.all(name, !self[name].matches('[\\r\\n\\x00]'))",
                  message: 'header values must be one line: no CR, LF or NUL',
                },
              ],
            },
          ),
          body: string('Body of the fallback response.', { maxLength: 65536 }),
        }),
      }),
      async: object(
        "What happens to event invocations (Invoke API InvocationType Event, x-roost-invocation-type: Event, triggers), as Lambda's event invoke config. Events wait in a durable queue and are tried at least once; one that fails for good goes to the dead-letter stream (roost events dead-letters).",
        {
          maxRetries: integer(
            'Tries after the first that failed (the function threw or timed out).',
            {
              minimum: 0,
              maximum: 2,
              default: ASYNC_DEFAULTS.maxRetries,
            },
          ),
          maxEventAgeSeconds: integer(
            'An event older than this (counted from when it was accepted) is not tried again but sent to the dead letters.',
            { minimum: 60, maximum: 21600, default: ASYNC_DEFAULTS.maxEventAgeSeconds },
          ),
          retryDelaySeconds: integer(
            'Back-off before the first retry; it doubles for each retry after.',
            {
              minimum: 1,
              maximum: 3600,
              default: ASYNC_DEFAULTS.retryDelaySeconds,
            },
          ),
          onFailure: object(
            "Where an event that failed for good is also sent, as an event carrying the failure (Lambda's destination record).",
            {
              function: object(
                'A function (SandboxDeployment) in the same namespace.',
                { name: string('Its name.', { minLength: 1, maxLength: 253 }) },
                { required: ['name'] },
              ),
            },
            { required: ['function'] },
          ),
        },
      ),
    },
    {
      required: ['template'],
      'x-kubernetes-validations': [
        selectorMatchesTemplate,
        {
          rule: `!has(self.autoscaling) || !has(self.autoscaling.maxReplicas) || self.autoscaling.maxReplicas >= 1`,
          message: 'maxReplicas must be at least 1',
          fieldPath: '.autoscaling.maxReplicas',
        },
      ],
    },
  ),
  status: object('What the controller observed.', {
    ...statusCounters,
    updatedReplicas: integer('Sandboxes of the current template revision.', { minimum: 0 }),
    unavailableReplicas: integer('Sandboxes still needed for replicas to be available.', {
      minimum: 0,
    }),
    ready: string('readyReplicas/replicas, for kubectl get.'),
    revision: integer('The revision number of the current template.', { minimum: 0 }),
    collisionCount: integer('Template-hash collisions seen, to make new names.', { minimum: 0 }),
    conditions: conditions('Available and Progressing, as for a Deployment.'),
  }),
  columns: [
    { name: 'Ready', type: 'string', jsonPath: '.status.ready' },
    { name: 'Up-to-date', type: 'integer', jsonPath: '.status.updatedReplicas' },
    { name: 'Available', type: 'integer', jsonPath: '.status.availableReplicas' },
    {
      name: 'Runtime',
      type: 'string',
      jsonPath: '.spec.template.spec.function.runtime',
      priority: 1,
    },
    {
      name: 'Handler',
      type: 'string',
      jsonPath: '.spec.template.spec.function.handler',
      priority: 1,
    },
    { name: 'Selector', type: 'string', jsonPath: '.status.selector', priority: 1 },
  ],
  scale: true,
});

const sandboxEndpoints = crd({
  kind: 'SandboxEndpoints',
  plural: 'sandboxendpoints',
  shortNames: ['sbxep'],
  description:
    'The Sandboxes of one SandboxDeployment (same name) that can take requests, with their addresses. The gateway routes on it.',
  status: object('Maintained by the controller.', {
    endpoints: array(
      'Sandboxes that are ready, or terminating and still finishing requests.',
      object(
        'One Sandbox and where to reach it.',
        {
          sandbox: string('Name of the Sandbox.'),
          address: string('host:port of the sidecar that serves it.'),
          podName: string('Host pod that runs it.'),
          revision: string('Template hash of the revision it runs.'),
          revisionNumber: integer('Revision number of its SandboxReplicaSet.', { minimum: 1 }),
          ready: boolean('Takes new requests.'),
          terminating: boolean('Is being deleted; takes no new requests.'),
        },
        { required: ['sandbox', 'address', 'podName'] },
      ),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['sandbox'] },
    ),
    readyCount: integer('How many endpoints are ready.', { minimum: 0 }),
    summary: string('The ready addresses, for kubectl get.'),
  }),
  columns: [{ name: 'Endpoints', type: 'string', jsonPath: '.status.summary' }],
});

/** What the API server accepts as a schedule; the controller parses it fully and says more in status. */
const SCHEDULE_RULE = [
  `self.schedule.matches('^@every ([0-9]+(ms|s|m|h))+$')`,
  `self.schedule.matches('^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$')`,
  `self.schedule.matches('^[^ ]+( [^ ]+){4,5}$')`,
].join(' || ');

/** Where a trigger sends its events: a function, and optionally one of its aliases. */
const eventTarget = () =>
  object(
    'The function to send the events to.',
    {
      name: string("Name of a SandboxDeployment in the trigger's namespace.", {
        minLength: 1,
        maxLength: 253,
      }),
      alias: string(
        "An alias (a SandboxRoute's name), a tag or a revision number of the function: the event goes where /fn/<namespace>/<name>@<alias> goes, resolved when it runs. Without it, the function's default route.",
        { maxLength: 63, pattern: '^([1-9][0-9]{0,8}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$' },
      ),
    },
    { required: ['name'] },
  );

const cronTrigger = crd({
  kind: 'CronTrigger',
  plural: 'crontriggers',
  shortNames: ['cront'],
  description:
    'A schedule that sends an event to a function, as a CronJob runs a Job: each scheduled time is one event invocation through the durable queue, in the shape of an EventBridge scheduled event.',
  spec: object(
    'When to send what to which function.',
    {
      schedule: string(
        "Cron schedule: 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, a nickname (@hourly, @daily, @weekly, @monthly, @yearly), or @every <duration> such as @every 30s (counted from the trigger's creation).",
        { minLength: 1, maxLength: 256 },
      ),
      timeZone: string(
        'IANA time zone the schedule is read in, such as Europe/Berlin. Defaults to UTC.',
        { maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' },
      ),
      target: eventTarget(),
      payload: {
        description:
          "Any JSON value: the event's detail. The event also carries the scheduled time (time), as EventBridge's scheduled event does.",
        'x-kubernetes-preserve-unknown-fields': true,
      } as Schema,
      concurrencyPolicy: string(
        'What to do when a scheduled time comes while an earlier run has not finished: Allow runs both; Forbid skips the new one; Replace removes the earlier run if it has not started yet and runs the new one.',
        { enum: ['Allow', 'Forbid', 'Replace'], default: CRON_DEFAULTS.concurrencyPolicy },
      ),
      startingDeadlineSeconds: integer(
        'A scheduled time missed by more than this (the controller was down, or a leader change) is not run. Without it, every missed time is run.',
        { minimum: 0 },
      ),
      suspend: boolean('Send nothing while true; times that pass meanwhile are not run later.', {
        default: CRON_DEFAULTS.suspend,
      }),
    },
    {
      required: ['schedule', 'target'],
      'x-kubernetes-validations': [
        {
          rule: SCHEDULE_RULE,
          message:
            'schedule must be 5 cron fields, 6 with seconds, a nickname such as @hourly, or @every <duration> such as @every 30s',
          fieldPath: '.schedule',
        },
      ],
    },
  ),
  status: object('What the controller observed and did.', {
    observedGeneration: integer('The metadata.generation this status was computed from.', {
      minimum: 0,
    }),
    lastScheduleTime: timestamp('The latest scheduled time that was sent; written before sending.'),
    lastSkipTime: timestamp(
      'The latest scheduled time that was not run (Forbid while a run was going, or past startingDeadlineSeconds).',
    ),
    lastSuccessfulTime: timestamp('Scheduled time of the latest run that succeeded.'),
    lastFailure: object('The latest run that failed for good.', {
      time: timestamp('Its scheduled time.'),
      reason: string('Why, in one word: RetriesExhausted, EventAgeExceeded, FunctionNotFound, ...'),
      message: string('What the function or Roost said.'),
    }),
    nextScheduleTime: timestamp('The next scheduled time, unless suspended.'),
    active: array(
      'Runs sent and not yet finished.',
      object(
        'One run.',
        {
          requestId: string('The request id the function sees (context.awsRequestId).'),
          scheduledTime: timestamp('Its scheduled time.'),
        },
        { required: ['requestId', 'scheduledTime'] },
      ),
    ),
    conditions: conditions('Scheduled: the schedule, time zone and target are valid and it runs.'),
  }),
  columns: [
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
    { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
    { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime' },
    { name: 'Next', type: 'date', jsonPath: '.status.nextScheduleTime' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target.name', priority: 1 },
    { name: 'Time Zone', type: 'string', jsonPath: '.spec.timeZone', priority: 1 },
  ],
});

const secretKeyRef = (description: string) =>
  object(
    description,
    {
      name: string("Name of a Secret in the trigger's namespace (never another namespace's).", {
        minLength: 1,
        maxLength: 253,
      }),
      key: string('The key of that Secret whose value is used.', {
        minLength: 1,
        maxLength: 253,
        pattern: '^[-._a-zA-Z0-9]+$',
      }),
    },
    { required: ['name', 'key'] },
  );

const queueSource = (description: string) =>
  object(
    description,
    {
      rabbitmq: object(
        'A RabbitMQ queue. The event is the Amazon MQ for RabbitMQ event (rmqMessagesByQueue).',
        {
          connectionSecretRef: secretKeyRef(
            'The Secret key holding the amqp:// or amqps:// URL, credentials included. Credentials are never written inline.',
          ),
          queue: string('The queue to consume. It must exist; Roost does not declare it.', {
            minLength: 1,
            maxLength: 255,
          }),
        },
        { required: ['connectionSecretRef', 'queue'] },
      ),
      nats: object(
        'A NATS JetStream stream, read through a durable pull consumer. The event is a Records list (eventSource roost:nats).',
        {
          serverSecretRef: secretKeyRef(
            "The Secret key holding the nats:// URL (credentials included). Without it, Roost's own queue server, whose ROOST_ streams no trigger may read.",
          ),
          stream: string('The stream. It must exist; Roost does not create it.', {
            minLength: 1,
            maxLength: 255,
            pattern: '^[^.*> ]+$',
          }),
          subject: string(
            'Only messages on subjects matching this filter (NATS wildcards allowed). Default: every subject of the stream.',
            { minLength: 1, maxLength: 255 },
          ),
          durable: string(
            'Name of the durable consumer Roost creates and shares between its replicas.',
            { minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' },
          ),
        },
        {
          required: ['stream', 'durable'],
          'x-kubernetes-validations': [
            {
              rule: "has(self.serverSecretRef) || !self.stream.startsWith('ROOST_')",
              message:
                "the ROOST_ streams of Roost's own queue server are Roost's; name a stream of your own, or a server in serverSecretRef",
              fieldPath: '.stream',
            },
          ],
        },
      ),
    },
    {
      'x-kubernetes-validations': [
        {
          rule: 'has(self.rabbitmq) != has(self.nats)',
          message: 'set exactly one of source.rabbitmq and source.nats',
        },
      ],
    },
  );

const queueTrigger = crd({
  kind: 'QueueTrigger',
  plural: 'queuetriggers',
  shortNames: ['queuet', 'qt'],
  description:
    'A queue that feeds a function, as a Lambda event source mapping: messages of a RabbitMQ queue or a NATS JetStream stream are read in batches by `roost triggers` (competing consumers), sent to the function through the gateway, and acknowledged only after the function answered for them (at least once, no ordering). A message that keeps failing goes to the dead-letter destination after its retries.',
  spec: object(
    'Which queue feeds which function, and how.',
    {
      source: queueSource('The queue: exactly one of rabbitmq and nats.'),
      target: eventTarget(),
      batchSize: integer('Most messages in one invocation.', {
        minimum: 1,
        maximum: 1000,
        default: QUEUE_DEFAULTS.batchSize,
      }),
      maxBatchingWindowSeconds: integer(
        'How long to wait for a batch to fill before sending what has come. 0 sends at once.',
        { minimum: 0, maximum: 300, default: QUEUE_DEFAULTS.maxBatchingWindowSeconds },
      ),
      maxConcurrency: integer(
        'Most batches in flight at once in each roost triggers replica. RabbitMQ prefetch is batchSize × maxConcurrency.',
        { minimum: 1, maximum: 1000, default: QUEUE_DEFAULTS.maxConcurrency },
      ),
      maxRetries: integer(
        'Tries after the first for a message the function failed (a thrown error, a timeout, or an entry in batchItemFailures). Then it goes to the dead-letter destination.',
        { minimum: 0, maximum: 100, default: QUEUE_DEFAULTS.maxRetries },
      ),
      retryDelaySeconds: integer(
        'Delay before the first retry; it doubles after each failed try. Other messages go on meanwhile.',
        { minimum: 0, maximum: 3600, default: QUEUE_DEFAULTS.retryDelaySeconds },
      ),
      deadLetter: object(
        'Where a message goes after its last failed try. Without it, it is dropped.',
        {
          queue: string(
            'RabbitMQ: a queue Roost declares and binds to the dead-letter exchange roost.dead-letter.',
            { minLength: 1, maxLength: 255 },
          ),
          subject: string(
            'NATS: a subject to publish to; a stream must capture it for the message to be kept.',
            { minLength: 1, maxLength: 255, pattern: '^[^*> ]+$' },
          ),
        },
      ),
      enabled: boolean('Consume while true; false stops consuming and leaves the messages.', {
        default: QUEUE_DEFAULTS.enabled,
      }),
    },
    {
      required: ['source', 'target'],
      'x-kubernetes-validations': [
        {
          rule: '!has(self.deadLetter) || !has(self.deadLetter.queue) || has(self.source.rabbitmq)',
          message:
            'deadLetter.queue is for a rabbitmq source; a nats source uses deadLetter.subject',
          fieldPath: '.deadLetter.queue',
        },
        {
          rule: '!has(self.deadLetter) || !has(self.deadLetter.subject) || has(self.source.nats)',
          message:
            'deadLetter.subject is for a nats source; a rabbitmq source uses deadLetter.queue',
          fieldPath: '.deadLetter.subject',
        },
      ],
    },
  ),
  status: object('What roost triggers observed and did.', {
    observedGeneration: integer('The metadata.generation this status was computed from.', {
      minimum: 0,
    }),
    source: string('rabbitmq or nats, for kubectl get.'),
    queue: string('The queue, or stream/subject, for kubectl get.'),
    lag: integer('Messages waiting in the broker for this trigger, not yet handled.', {
      minimum: 0,
    }),
    delivered: integer('Messages the function handled, and acknowledged to the broker.', {
      minimum: 0,
    }),
    failed: integer('Tries that failed: a message retried twice and then dead-lettered counts 3.', {
      minimum: 0,
    }),
    deadLettered: integer(
      'Messages sent to the dead-letter destination (or dropped without one).',
      {
        minimum: 0,
      },
    ),
    lastError: object('The latest error reaching the broker or the function.', {
      time: timestamp('When.'),
      message: string('What happened; never holds credentials.'),
    }),
    conditions: conditions(
      'Ready: every roost triggers replica consumes, with the reason when one does not (BrokerUnreachable, QueueNotFound, TargetNotFound, SecretNotFound, InvalidSecret, Disabled).',
    ),
    replicas: array(
      "Each roost triggers replica's own connection to the broker, written by that replica; an entry not refreshed for a while (its replica died) is dropped.",
      object(
        'One replica.',
        {
          name: string('The replica (its pod name in a cluster).'),
          generation: integer('The metadata.generation of the trigger its consumer runs.', {
            minimum: 0,
          }),
          consuming: boolean('Whether it consumes the queue.'),
          reason: string('Why not: a reason of the Ready condition.'),
          message: string('What it saw; never holds credentials.'),
          time: timestamp('When the replica last wrote this entry.'),
        },
        { required: ['name', 'consuming', 'time'] },
      ),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    created: array(
      "What Roost made in the user's broker for this trigger, one entry per source, recorded before it is made; removed when the trigger is deleted or its source changes (the entry goes with it). The user's own queue, stream, dead-letter queue and durable consumer are never listed.",
      object(
        'What was made on one source.',
        {
          source: queueSource('The source they were made on.'),
          queues: array('RabbitMQ: the delay queues of retries.', string('A queue name.'), {
            'x-kubernetes-list-type': 'set',
          }),
          consumer: string('NATS: the durable consumer Roost created on the stream.'),
        },
        { required: ['source'] },
      ),
    ),
  }),
  columns: [
    { name: 'Source', type: 'string', jsonPath: '.status.source' },
    { name: 'Queue', type: 'string', jsonPath: '.status.queue' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Lag', type: 'integer', jsonPath: '.status.lag' },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      priority: 1,
    },
    { name: 'Delivered', type: 'integer', jsonPath: '.status.delivered', priority: 1 },
    { name: 'Dead', type: 'integer', jsonPath: '.status.deadLettered', priority: 1 },
  ],
});

const tagName = (description: string) =>
  string(description, { maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });

const sandboxRoute = crd({
  kind: 'SandboxRoute',
  plural: 'sandboxroutes',
  shortNames: ['sbxroute', 'sbxrt'],
  description:
    'Splits the traffic of one SandboxDeployment between its revisions, as a Knative Route or a Lambda alias. Named like its deployment it is the default route (/fn/<ns>/<name>); any other name is an alias (/fn/<ns>/<name>@<alias>). A revision it names is kept and scaled for its share.',
  spec: object(
    'Where the traffic goes.',
    {
      deployment: string(
        'The SandboxDeployment whose revisions this route splits traffic between.',
        {
          maxLength: 253,
          minLength: 1,
        },
      ),
      targets: array(
        'The revisions and their shares of the traffic; the percents add up to 100.',
        object(
          'One revision and its share.',
          {
            revision: integer('A revision number, as `roost rollout history` lists them.', {
              minimum: 1,
            }),
            latestRevision: boolean(
              'True: whatever revision is newest, following every rollout. Set this or revision.',
            ),
            percent: integer('Share of the traffic, 0 to 100.', {
              minimum: 0,
              maximum: 100,
              default: ROUTE_DEFAULTS.percent,
            }),
            tag: tagName(
              'Also answers /fn/<ns>/<name>@<tag> with this revision alone, whatever its percent (0 included).',
            ),
          },
          {
            'x-kubernetes-validations': [
              {
                rule: `has(self.revision) != (has(self.latestRevision) && self.latestRevision)`,
                message: 'set exactly one of revision and latestRevision: true',
                fieldPath: '.revision',
              },
            ],
          },
        ),
        {
          minItems: 1,
          maxItems: 20,
          'x-kubernetes-list-type': 'atomic',
          'x-kubernetes-validations': [
            {
              rule: 'self.map(t, t.percent).sum() == 100',
              message: 'the percents of targets must add up to 100',
            },
            {
              rule: 'self.all(a, !has(a.tag) || self.exists_one(b, has(b.tag) && b.tag == a.tag))',
              message: 'a tag may name only one target',
              reason: 'FieldValueDuplicate',
            },
          ],
        },
      ),
      canary: object(
        "Progressive delivery: when the deployment gets a revision newer than every target, send it the percent of each step in turn, judged by the gateways' counts, then promote it to 100%, or roll back at the first step that breaks a bound.",
        {
          steps: array(
            'The percent of traffic the new revision takes, and for how long.',
            object(
              'One step.',
              {
                percent: integer('Share of the traffic for the new revision.', {
                  minimum: 1,
                  maximum: 99,
                }),
                intervalSeconds: integer('How long the step lasts (and has enough requests).', {
                  minimum: 1,
                  maximum: 86400,
                  default: ROUTE_DEFAULTS.canaryIntervalSeconds,
                }),
              },
              { required: ['percent'] },
            ),
            { minItems: 1, maxItems: 20, 'x-kubernetes-list-type': 'atomic' },
          ),
          maxErrorPercent: number(
            'Most failed requests (5xx) of the new revision, in percent of its requests during a step.',
            { minimum: 0, maximum: 100, default: ROUTE_DEFAULTS.maxErrorPercent },
          ),
          maxLatencyMs: integer(
            'Highest p99 latency of the new revision during a step, in milliseconds; unset for no bound.',
            { minimum: 1 },
          ),
          minRequests: integer(
            'Requests the new revision must answer in a step before the step can pass.',
            { minimum: 0, default: ROUTE_DEFAULTS.minRequests },
          ),
        },
        {
          required: ['steps'],
          'x-kubernetes-validations': [
            {
              rule: 'self.steps.map(s, s.percent).isSorted()',
              message: 'the percents of steps must not decrease',
              fieldPath: '.steps',
            },
          ],
        },
      ),
    },
    {
      required: ['deployment', 'targets'],
      'x-kubernetes-validations': [
        {
          rule: '!has(self.canary) || self.targets.all(t, has(t.revision))',
          message: 'a route with a canary names revisions, not latestRevision: the canary moves it',
          fieldPath: '.targets',
        },
        {
          rule: 'self.deployment == oldSelf.deployment',
          message: 'deployment cannot change; make another route',
          fieldPath: '.deployment',
          reason: 'FieldValueForbidden',
        },
      ],
    },
  ),
  status: object('What the controller resolved.', {
    observedGeneration: integer('The metadata.generation this status describes.', { minimum: 0 }),
    targets: array(
      'The split the gateways apply now: the spec resolved to revisions, with a canary step applied.',
      object(
        'One revision and its share.',
        {
          revision: integer('Revision number.', { minimum: 1 }),
          replicaSet: string('The SandboxReplicaSet of that revision.'),
          percent: integer('Share of the traffic.', { minimum: 0, maximum: 100 }),
          tag: string('Its tag, if it has one.'),
          readySandboxes: integer('Ready Sandboxes of that revision.', { minimum: 0 }),
        },
        { required: ['revision', 'replicaSet', 'percent'] },
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    addresses: array(
      'Where each tag (and the route itself) answers.',
      object(
        'One address.',
        {
          tag: string('The tag, or empty for the route itself.'),
          revision: integer('The revision it reaches; unset for the split.', { minimum: 1 }),
          path: string('The gateway path: /fn/<ns>/<name>@<tag>.'),
        },
        { required: ['path'] },
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    traffic: string('The split as text, for kubectl get: "3=90,4=10".'),
    canary: object('The progressive delivery in progress or last done.', {
      phase: string('Progressing, Promoted or RolledBack.', {
        enum: ['Progressing', 'Promoted', 'RolledBack'],
      }),
      revision: integer('The new revision being judged.', { minimum: 1 }),
      stableRevision: integer('The revision traffic returns to on a rollback.', { minimum: 1 }),
      step: integer('Index of the current step (0-based).', { minimum: 0 }),
      stepStartedAt: timestamp('When the current step began.'),
      message: string('The last judgement, such as the error rate seen.'),
      stepBaseline: object(
        "The gateways' counts for the new revision when the step began, so that a new leader judges the same window.",
        {
          requests: integer('Requests counted so far.', { minimum: 0 }),
          errors: integer('5xx answers counted so far.', { minimum: 0 }),
          latencyBuckets: {
            type: 'array',
            description: 'Requests per latency bucket (not cumulative).',
            items: { type: 'integer', minimum: 0 },
            maxItems: 64,
          } as Schema,
        },
      ),
    }),
    conditions: conditions(
      'Ready (every target exists and has a ready Sandbox) and Canary (how the last canary went).',
    ),
  }),
  columns: [
    { name: 'Deployment', type: 'string', jsonPath: '.spec.deployment' },
    { name: 'Traffic', type: 'string', jsonPath: '.status.traffic' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      priority: 1,
    },
    { name: 'Canary', type: 'string', jsonPath: '.status.canary.phase', priority: 1 },
  ],
});

export const customResourceDefinitions: CustomResourceDefinition[] = [
  sandbox,
  sandboxReplicaSet,
  sandboxDeployment,
  sandboxEndpoints,
  cronTrigger,
  queueTrigger,
  sandboxRoute,
];
