/**
 * Reduces what Kubernetes reports about a run (Job conditions, pod conditions and container states, Events) to one
 * named outcome. Pure: the watch feeds it the latest objects and the time, and it answers "still alive" or how the run
 * ended.
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { OutcomeCode, RunKubeEvent } from './outcome.ts';

/** What the classifier looks at. */
export interface ClassifyInput {
  /** The latest Job, or `null` once it is gone. */
  job: V1Job | null;
  /** The latest pod of the Job, or `null` when none exists (yet, or any more). */
  pod: V1Pod | null;
  /** Recent events of the Job and pod (any order). */
  events: readonly RunKubeEvent[];
  containerName: string;
  /** Current time (clock port). Milliseconds since the epoch. */
  now: number;
  /** This runtime asked for the deletion (in-memory flag or the cancel annotation on the Job). */
  cancelRequested: boolean;
  /** The Job was deleted (watch DELETED) or carries a deletionTimestamp. */
  jobDeleted: boolean;
  /** The pod was deleted (watch DELETED): its containers have ended. */
  podDeleted: boolean;
  /** When the Job's deletion was first seen (clock port), `null` before. Milliseconds since the epoch. */
  deletionSeenAt: number | null;
  /** How long ErrImagePull/ImagePullBackOff may last before the run fails. Seconds. */
  imagePullGraceSeconds: number;
  /** How long the pod may stay Unschedulable (autoscalers need time). Seconds. */
  unschedulableGraceSeconds: number;
  /** How long CreateContainerConfigError/FailedMount may last (a referenced Secret may appear). Seconds. */
  configErrorGraceSeconds: number;
  /** How long the Job may have no pod while its controller reports `FailedCreate`. Seconds. */
  podCreateGraceSeconds: number;
  /** Since when the Job has had no pod (clock port). Milliseconds since the epoch. */
  noPodSince: number;
  /** The Job's `activeDeadlineSeconds`, for the message. */
  deadlineSeconds: number | null;
}

/** A decided outcome, without the run's identity fields. */
export interface Classification {
  code: OutcomeCode;
  reason: string | null;
  message: string;
  hint: string | null;
  exitCode: number | null;
}

/** Hints per code, one place so docs and tests can list them. */
export const OUTCOME_HINTS: Readonly<Record<OutcomeCode, string | null>> = {
  succeeded: null,
  'image-pull':
    'Check the image name and tag. With imagePullPolicy Never the image must already be on the node; for a private registry set imagePullSecrets.',
  'config-error': 'Create the Secret or ConfigMap the run refers to (env, envFrom or a volume), or fix the key name.',
  unschedulable:
    'No node fits the pod: check nodeSelector, tolerations, affinity and resource requests against the nodes, or raise unschedulableGraceSeconds if an autoscaler needs longer.',
  'oom-killed': 'The container used more memory than its limit: raise resources.limits.memory.',
  evicted:
    'Kubernetes evicted or preempted the pod, or its node was lost; run it again, and consider a priorityClassName or more node capacity.',
  'deadline-exceeded': 'The run took longer than its timeout: raise timeoutSeconds or give it less to do.',
  'exit-code': "The program exited with an error: see the run's log.",
  'never-started': 'The container never started: see the events for why.',
  cancelled: null,
  'deleted-externally':
    'Something other than this runtime deleted the Job (kubectl, a cleanup job, a namespace deletion) before it finished.',
};

const IMMEDIATE_IMAGE_REASONS = new Set(['ErrImageNeverPull', 'InvalidImageName']);
const GRACED_IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'RegistryUnavailable']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError']);

/** `null` while the run is alive and nothing has failed for longer than its grace; the outcome otherwise. */
export function classifyJobOutcome(input: ClassifyInput): Classification | null {
  const { job, pod } = input;
  const container = containerStatus(pod, input.containerName);
  const finished = job === null ? null : jobFinish(job);

  if (finished === null && (input.jobDeleted || job?.metadata?.deletionTimestamp !== undefined)) {
    // The run is over only once its container has ended: until then it may still write to its session volume.
    if (!deletionDone(input, container)) return null;
    if (input.cancelRequested) return make('cancelled', null, 'the run was cancelled', exitCodeOf(container));
    return make(
      'deleted-externally',
      null,
      `job ${job?.metadata?.name ?? ''} was deleted before it finished`.replace('  ', ' '),
      exitCodeOf(container),
    );
  }
  if (finished?.type === 'succeeded') return make('succeeded', finished.reason, 'the run succeeded', 0);
  if (input.cancelRequested && finished === null) return null; // deletion in flight: wait for it
  if (pod === null && finished === null) return classifyPodCreate(input);

  // Failures the pod tells precisely, whether or not the Job has failed yet.
  const fromPod = classifyPod(input, container);
  if (fromPod !== null && (fromPod.final || finished !== null)) return fromPod.classification;

  if (finished?.type === 'failed') {
    if (finished.reason === 'DeadlineExceeded') {
      const after = input.deadlineSeconds === null ? '' : ` of ${input.deadlineSeconds}s`;
      const blocked = fromPod === null ? '' : ` (while ${fromPod.classification.message})`;
      return make(
        'deadline-exceeded',
        'DeadlineExceeded',
        `the run exceeded its deadline${after}${blocked}`,
        exitCodeOf(container),
      );
    }
    if (fromPod !== null) return fromPod.classification;
    if (container?.state?.terminated === undefined && container?.lastState?.terminated === undefined) {
      return make(
        'never-started',
        finished.reason,
        `the container never started: ${finished.message || finished.reason || 'job failed'}`,
        null,
      );
    }
    const exitCode = exitCodeOf(container);
    return make(
      'exit-code',
      finished.reason,
      `container ${input.containerName} exited with code ${exitCode ?? 'unknown'}`,
      exitCode,
    );
  }
  return null;
}

/**
 * How long after a deletion the runtime waits for the pod to go before it decides anyway (a Job deleted with
 * `propagationPolicy: Orphan` leaves its pod running with no owner): the pod's grace period plus this. Seconds.
 */
const DELETION_SLACK_SECONDS = 60;

/** Milliseconds after a seen deletion at which {@link classifyJobOutcome} decides even if the pod has not ended. */
export function deletionBoundMs(pod: V1Pod | null): number {
  return ((pod?.spec?.terminationGracePeriodSeconds ?? 30) + DELETION_SLACK_SECONDS) * 1000;
}

/** A deleted run is over once its pod is gone or its container has ended (or the bound has passed). */
function deletionDone(input: ClassifyInput, container: V1ContainerStatus | undefined): boolean {
  const { pod } = input;
  if (pod === null) return input.jobDeleted;
  if (input.podDeleted || container?.state?.terminated !== undefined) return true;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return true;
  return input.deletionSeenAt !== null && input.now - input.deletionSeenAt >= deletionBoundMs(pod);
}

/** Hint of a Job whose controller is refused the pod. */
const FAILED_CREATE_HINT =
  "The Job controller cannot create the run's pod: free or raise the namespace's ResourceQuota, fix what an admission policy refuses, or create the service account; raise podCreateGraceSeconds if the cause clears on its own.";

/** A Job without a pod: `never-started` (reason `FailedCreate`) once its controller has been refused for the grace. */
function classifyPodCreate(input: ClassifyInput): Classification | null {
  if (input.now - input.noPodSince < input.podCreateGraceSeconds * 1000) return null;
  const refusal = input.events
    .filter((e) => e.type === 'Warning' && e.reason === 'FailedCreate' && e.involvedKind === 'Job')
    .at(-1);
  if (refusal === undefined) return null;
  return {
    ...make(
      'never-started',
      'FailedCreate',
      `the Job controller could not create the pod for ${input.podCreateGraceSeconds}s: ${refusal.message}`,
      null,
    ),
    hint: FAILED_CREATE_HINT,
  };
}

function classifyPod(
  input: ClassifyInput,
  container: V1ContainerStatus | undefined,
): { classification: Classification; final: boolean } | null {
  const { pod } = input;
  if (pod === null) return null;
  const disruption = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  if (disruption !== undefined) {
    return final(
      make(
        'evicted',
        disruption.reason ?? 'DisruptionTarget',
        `the pod was disrupted: ${disruption.reason ?? ''}: ${disruption.message ?? ''}`.trim(),
        exitCodeOf(container),
      ),
    );
  }
  if (pod.status?.phase === 'Failed' && pod.status.reason === 'Evicted') {
    return final(
      make('evicted', 'Evicted', `the pod was evicted: ${pod.status.message ?? ''}`.trim(), exitCodeOf(container)),
    );
  }
  const terminated = container?.state?.terminated;
  if (terminated !== undefined) {
    if (terminated.reason === 'OOMKilled') {
      const limit = memoryLimit(pod, input.containerName);
      return final(
        make(
          'oom-killed',
          'OOMKilled',
          `container ${input.containerName} was killed: out of memory${limit === null ? '' : ` (limit ${limit})`}`,
          terminated.exitCode,
        ),
      );
    }
    if (terminated.exitCode === 0) {
      return pod.status?.phase === 'Succeeded'
        ? final(make('succeeded', terminated.reason ?? 'Completed', 'the run succeeded', 0))
        : null;
    }
    const detail =
      terminated.message === undefined || terminated.message === '' ? '' : `: ${lastLine(terminated.message)}`;
    return final(
      make(
        'exit-code',
        terminated.reason ?? 'Error',
        `container ${input.containerName} exited with code ${terminated.exitCode}${detail}`,
        terminated.exitCode,
      ),
    );
  }
  const waiting = container?.state?.waiting;
  const since = Date.parse(String(pod.metadata?.creationTimestamp ?? '')) || input.now;
  const age = (input.now - since) / 1000;
  if (waiting?.reason !== undefined) {
    const what = `${waiting.reason}: ${waiting.message ?? ''}`.replace(/: $/, '');
    if (IMMEDIATE_IMAGE_REASONS.has(waiting.reason))
      return final(
        make('image-pull', waiting.reason, `image ${imageOf(pod, input.containerName)} cannot be used: ${what}`, null),
      );
    if (GRACED_IMAGE_REASONS.has(waiting.reason)) {
      const c = make(
        'image-pull',
        waiting.reason,
        `image ${imageOf(pod, input.containerName)} cannot be pulled: ${what}`,
        null,
      );
      return { classification: c, final: age >= input.imagePullGraceSeconds };
    }
    if (CONFIG_REASONS.has(waiting.reason)) {
      const c = make(
        'config-error',
        waiting.reason,
        `container ${input.containerName} cannot be created: ${what}`,
        null,
      );
      return { classification: c, final: age >= input.configErrorGraceSeconds };
    }
  }
  const mountFailure = input.events.find(
    (e) => e.type === 'Warning' && e.reason === 'FailedMount' && e.involvedKind === 'Pod',
  );
  if (mountFailure !== undefined && container?.state?.running === undefined) {
    const c = make(
      'config-error',
      'FailedMount',
      `a volume of the pod cannot be mounted: ${mountFailure.message}`,
      null,
    );
    return { classification: c, final: age >= input.configErrorGraceSeconds };
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const c = make(
      'unschedulable',
      'Unschedulable',
      `the pod cannot be scheduled: ${scheduled.message ?? 'no node fits'}`,
      null,
    );
    return { classification: c, final: age >= input.unschedulableGraceSeconds };
  }
  if (pod.status?.phase === 'Failed') {
    return final(
      make(
        'never-started',
        pod.status.reason ?? 'Failed',
        `the pod failed before its container started: ${pod.status.message ?? pod.status.reason ?? 'unknown'}`,
        null,
      ),
    );
  }
  return null;
}

/** The terminal state of a Job from its conditions (incl. the early `FailureTarget`/`SuccessCriteriaMet`). */
export function jobFinish(job: V1Job): { type: 'succeeded' | 'failed'; reason: string | null; message: string } | null {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete' || condition.type === 'SuccessCriteriaMet')
      return { type: 'succeeded', reason: condition.reason ?? null, message: condition.message ?? '' };
    if (condition.type === 'Failed' || condition.type === 'FailureTarget')
      return { type: 'failed', reason: condition.reason ?? null, message: condition.message ?? '' };
  }
  return null;
}

function final(classification: Classification): { classification: Classification; final: true } {
  return { classification, final: true };
}

function make(code: OutcomeCode, reason: string | null, message: string, exitCode: number | null): Classification {
  return { code, reason, message, hint: OUTCOME_HINTS[code], exitCode };
}

function containerStatus(pod: V1Pod | null, name: string): V1ContainerStatus | undefined {
  return pod?.status?.containerStatuses?.find((status) => status.name === name);
}

function exitCodeOf(container: V1ContainerStatus | undefined): number | null {
  return container?.state?.terminated?.exitCode ?? null;
}

function imageOf(pod: V1Pod, name: string): string {
  return pod.spec?.containers.find((c) => c.name === name)?.image ?? 'unknown';
}

function memoryLimit(pod: V1Pod, name: string): string | null {
  const limit = pod.spec?.containers.find((c) => c.name === name)?.resources?.limits?.['memory'];
  return limit === undefined ? null : String(limit);
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
