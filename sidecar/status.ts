// The status a sidecar reports for a Sandbox, computed from what it knows, and
// written with server-side apply as field manager roost-sidecar so that the
// scheduler's fields are left alone. Conditions keep their transition time
// while their status does not change.
import type { Condition } from '../kube/api/meta.ts';
import type { Sandbox, SandboxPhase, SandboxStatus, Termination } from '../kube/api/roost.ts';
import type { PluggedSandbox } from './plugged-sandbox.ts';

export interface HostAddress {
  podName: string;
  podIP: string;
  /** ip:port of this sidecar's gRPC server. */
  address: string;
}

export interface PlugFailure {
  reason: string;
  message: string;
  /** Whether the code was fetched before it failed. */
  codeReady: boolean;
}

type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/** What status should say, given a plugged Sandbox, a failure to plug, or a drain in progress. */
export function desiredStatus(
  sandbox: Sandbox,
  host: HostAddress,
  state: { plugged?: PluggedSandbox; failure?: PlugFailure; terminating?: boolean },
): SandboxStatus {
  const generation = sandbox.metadata.generation ?? 0;
  const base: SandboxStatus = { ...host, observedGeneration: generation };
  const scheduled: ConditionInput = {
    type: 'Scheduled',
    status: 'True',
    reason: 'Bound',
    message: `bound to host pod ${host.podName}`,
  };
  let phase: SandboxPhase;
  let codeReady: ConditionInput;
  let ready: ConditionInput;
  let reason: string | undefined;
  let message: string | undefined;
  let restartCount = 0;
  let lastTermination: Termination | undefined;
  let hibernated = false;
  let startTime: string | undefined;

  if (state.failure) {
    phase = 'Failed';
    reason = state.failure.reason;
    message = state.failure.message;
    codeReady = state.failure.codeReady
      ? {
          type: 'CodeReady',
          status: 'True',
          reason: 'CodeFetched',
          message: 'code fetched and verified',
        }
      : { type: 'CodeReady', status: 'False', reason, message };
    ready = { type: 'Ready', status: 'False', reason, message };
  } else if (state.plugged) {
    const { runtime } = state.plugged;
    restartCount = runtime.restartCount;
    lastTermination = runtime.lastTermination;
    startTime = state.plugged.startTime;
    codeReady = {
      type: 'CodeReady',
      status: 'True',
      reason: 'CodeFetched',
      message: `code ${state.plugged.code.digest.slice(0, 19)} on local disk`,
    };
    const runtimeState = runtime.state;
    hibernated = runtimeState.phase === 'hibernated';
    if (state.terminating) {
      phase = 'Terminating';
      ready = {
        type: 'Ready',
        status: 'False',
        reason: 'Terminating',
        message: 'draining in-flight invocations before unplugging',
      };
    } else if (runtimeState.phase === 'ready' || runtimeState.phase === 'hibernated') {
      phase = 'Running';
      ready = {
        type: 'Ready',
        status: 'True',
        reason: hibernated ? 'Hibernated' : 'FunctionReady',
        message: hibernated
          ? 'idle: the process is stopped and resumes on the next invocation'
          : 'the function is loaded and takes invocations',
      };
    } else if (runtimeState.phase === 'failed') {
      phase = 'Failed';
      reason = runtimeState.reason;
      message = runtimeState.message;
      ready = { type: 'Ready', status: 'False', reason, message };
    } else if ('reason' in runtimeState) {
      phase = 'Running';
      reason = runtimeState.reason;
      message = runtimeState.message;
      ready = { type: 'Ready', status: 'False', reason, message };
    } else {
      phase = 'Starting';
      ready = {
        type: 'Ready',
        status: 'False',
        reason: 'Starting',
        message: 'starting the function',
      };
    }
  } else {
    phase = state.terminating ? 'Terminating' : 'Starting';
    codeReady = {
      type: 'CodeReady',
      status: 'False',
      reason: 'Fetching',
      message: 'fetching the code',
    };
    ready = {
      type: 'Ready',
      status: 'False',
      reason: phase,
      message: state.terminating ? 'unplugging' : 'starting the function',
    };
  }

  const previous = sandbox.status?.conditions ?? [];
  return {
    ...base,
    phase,
    conditions: [scheduled, codeReady, ready].map((c) =>
      withTransitionTime(c, generation, previous),
    ),
    restartCount,
    hibernated,
    ...(startTime ? { startTime } : {}),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    ...(lastTermination ? { lastTermination } : {}),
  };
}

function withTransitionTime(
  condition: ConditionInput,
  generation: number,
  previous: Condition[],
): Condition {
  const before = previous.find((c) => c.type === condition.type);
  const lastTransitionTime =
    before && before.status === condition.status
      ? before.lastTransitionTime
      : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return { ...condition, observedGeneration: generation, lastTransitionTime };
}

/** A stable form for "did anything change" comparisons, ignoring transition times. */
export function statusFingerprint(status: SandboxStatus): string {
  return JSON.stringify({
    ...status,
    conditions: status.conditions?.map(({ lastTransitionTime: _, ...c }) => c),
  });
}
