// Every label, annotation, condition and finalizer name Roost puts on objects,
// in one place: they are contracts between components (the sidecar publishes,
// the scheduler reads) and with users (kubectl -l roost.dev/deployment=hello).

/** Marks a Pod as a host pod that takes Sandboxes. Value "true". */
export const HOST_LABEL = 'roost.dev/host';

/** The readiness gate of a host pod; its sidecar sets the condition. */
export const HOST_READY_CONDITION = 'roost.dev/host-ready';

/** Annotations a sidecar publishes on its own pod for the scheduler. */
export const HostAnnotations = {
  /** Memory for Sandboxes, in MiB. */
  capacityMemoryMiB: 'roost.dev/capacity-memory-mib',
  /** CPU for Sandboxes, in millicores. */
  capacityCpuMillis: 'roost.dev/capacity-cpu-millis',
  /** Most Sandboxes the pod takes, whatever their size. */
  maxSandboxes: 'roost.dev/max-sandboxes',
  /** Runtimes offered, comma-separated: "nodejs,java". */
  runtimes: 'roost.dev/runtimes',
  /** Port of the sidecar's gRPC server on the pod IP. */
  sidecarPort: 'roost.dev/sidecar-port',
  /**
   * "strong": each Node.js function runs under a user id and cgroup of its
   * own. "weak": it does not (the sidecar is not root and lacks SETUID and
   * SETGID, or no cgroup can be made), and only Node's permission model
   * separates functions; a pool for mutually distrusting tenants should
   * not take Sandboxes there.
   */
  isolation: 'roost.dev/isolation',
  /** What the isolation is made of, and for "weak" why: "uids=per-function(...) cgroups=v1(memory,cpu,pids) rlimits=prlimit". */
  isolationDetails: 'roost.dev/isolation-details',
} as const;

/**
 * Set by whoever runs the pool, not by the sidecar: the namespaces whose
 * Sandboxes this host pod takes, comma-separated, or "*" for all. Without it a
 * host pod takes only Sandboxes of its own namespace: the tenancy boundary.
 */
export const ALLOWED_NAMESPACES_ANNOTATION = 'roost.dev/allowed-namespaces';

/**
 * The reason on a Sandbox (and its Events) whose host pod was lost: it is
 * failed and replaced elsewhere, which says nothing about whether its
 * function can start.
 */
export const HOST_LOST_REASON = 'HostLost';

/**
 * How often a sidecar renews its host Lease, by default. The controller's
 * host grace must be longer, or healthy hosts are declared lost between two
 * renewals.
 */
export const HOST_LEASE_RENEW_MS = 10_000;

/** On every Sandbox the sidecar has plugged; removed once it is unplugged. */
export const SIDECAR_FINALIZER = 'roost.dev/sidecar';

/** On every Sandbox and SandboxReplicaSet made from a SandboxDeployment: its name. */
export const DEPLOYMENT_LABEL = 'roost.dev/deployment';

/**
 * On a code ConfigMap made by `roost deploy` (named <deployment>-code-<digest
 * prefix>): the full hex SHA-256 of the archive it holds.
 */
export const CODE_SHA256_ANNOTATION = 'roost.dev/code-sha256';

/** Hash of the template a SandboxReplicaSet and its Sandboxes were made from. */
export const TEMPLATE_HASH_LABEL = 'roost.dev/template-hash';

/** Revision number of a SandboxReplicaSet within its deployment, as deployment.kubernetes.io/revision. */
export const REVISION_ANNOTATION = 'roost.dev/revision';

/**
 * Set on a SandboxDeployment by a gateway holding requests for it while it has
 * no ready Sandbox; the autoscaler scales it from zero as soon as it sees it.
 */
export const ACTIVATION_ANNOTATION = 'roost.dev/activation-requested-at';

/**
 * Set on a SandboxDeployment by a gateway sending a request to a revision
 * reached only by a tag at 0% (refreshed while it keeps being used): with
 * autoscaling, such a revision keeps a Sandbox for scaleToZeroGraceSeconds
 * after it, and goes to zero after that.
 */
export const revisionUsedAnnotation = (revision: number) =>
  `roost.dev/revision-${revision}-used-at`;

/** Label on gateway pods (or processes' registrations) the autoscaler scrapes. */
export const GATEWAY_LABEL = 'roost.dev/gateway';

/** The Secret (in the host pod namespace) whose `token` key authorises calls to sidecars. */
export const INVOKE_TOKEN_SECRET = 'roost-invoke-token';
export const INVOKE_TOKEN_KEY = 'token';

/** On a gateway's registration Lease: the base URL its stats are served at. */
export const GATEWAY_URL_ANNOTATION = 'roost.dev/gateway-url';

/**
 * Set on a SandboxDeployment to roll it back, as `kubectl rollout undo` does
 * for a Deployment: the revision number to return to, or "0" for the one
 * before the current. The controller copies that revision's template into the
 * spec and removes the annotation.
 */
export const ROLLBACK_TO_ANNOTATION = 'roost.dev/rollback-to';

/** The Lease that elects the one `roost controller` process that acts. */
export const CONTROLLER_LEASE_NAME = 'roost-controller';

/** The Lease that elects the one `roost triggers` replica that writes triggers' conditions and lag. */
export const TRIGGERS_LEASE_NAME = 'roost-triggers';

/**
 * Set on a SandboxRoute by `roost rollout promote|abort`: "promote" moves all
 * traffic to the canary revision now, "abort" rolls it back to the stable
 * one. The route controller acts on it and removes it.
 */
export const CANARY_ACTION_ANNOTATION = 'roost.dev/canary-action';
/** The Secret (in the system namespace) whose `key` signs the console's one-time login links. */
export const CONSOLE_LOGIN_SECRET = 'roost-console-login';
export const CONSOLE_LOGIN_KEY = 'key';

/**
 * A Secret a QueueTrigger may name must carry this label set to "true".
 * roost triggers may read Secrets; the label keeps a user who may create
 * triggers, but not read a namespace's Secrets, from having it use one that
 * was never meant for a trigger (the confused deputy).
 */
export const QUEUE_CREDENTIALS_LABEL = 'roost.dev/queue-credentials';

/**
 * On every QueueTrigger: roost triggers removes what it made in the user's
 * broker (retry delay queues, a NATS durable consumer) before the trigger goes.
 */
export const QUEUE_TRIGGER_FINALIZER = 'roost.dev/queue-trigger-cleanup';
