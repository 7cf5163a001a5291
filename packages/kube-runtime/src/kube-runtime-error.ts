/**
 * Errors of kube-runtime: one base class and data-carrying subclasses, each with its own cross-realm marker
 * (`Symbol.for('claude-k8s.kube-runtime.<Name>')`), so `X.isInstance(value)` is true exactly for an `X` or a subclass
 * of `X`, even from another installed copy of the package. client-node's own error shapes (`ApiException`, watch
 * `statusCode` errors) are converted here and never reach callers.
 */
import type { OutcomeCode } from './outcome.ts';

const MARKER = Symbol.for('claude-k8s.kube-runtime.error');

/** The marker of one error class (shared across copies of the package through the global symbol registry). */
function markerOf(name: string): symbol {
  return Symbol.for(`claude-k8s.kube-runtime.${name}`);
}

function hasMarker(value: unknown, marker: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/** Base class of every error kube-runtime throws. Use {@link KubeRuntimeError.isInstance}, not `instanceof`. */
export class KubeRuntimeError extends Error {
  readonly [MARKER] = true;
  override name = 'KubeRuntimeError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** True for any kube-runtime error, even one from another installed copy of the package. */
  static isInstance(value: unknown): value is KubeRuntimeError {
    return hasMarker(value, MARKER);
  }
}

/** The Kubernetes API verb of a failed request. */
export type KubeVerb = 'create' | 'get' | 'list' | 'watch' | 'patch' | 'update' | 'delete';

/** Where a failed request was aimed. */
export interface KubeTarget {
  verb: KubeVerb;
  /** Plural resource with its group, e.g. `jobs.batch`, `pods`, `leases.coordination.k8s.io`. */
  resource: string;
  namespace: string;
  /** Object name; `null` for collection requests (list, watch, create before the name is known). */
  name: string | null;
}

const KUBE_API_ERROR_MARKER = markerOf('KubeApiError');

/** An apiserver request failed. `status` is the HTTP status (0 when no response was received). */
export class KubeApiError extends KubeRuntimeError {
  readonly [KUBE_API_ERROR_MARKER] = true;
  override name = 'KubeApiError';

  /** True only for a {@link KubeApiError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is KubeApiError {
    return hasMarker(value, KUBE_API_ERROR_MARKER);
  }
  readonly verb: KubeVerb;
  readonly resource: string;
  readonly namespace: string;
  readonly objectName: string | null;
  /** HTTP status; 0 = no response (connection refused, reset, timeout). */
  readonly status: number;
  /** `Status.reason` from the apiserver, e.g. `Forbidden`, `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Gone`. */
  readonly reason: string | null;
  /** For 422 Invalid: the first offending field, e.g. `spec.template.spec.containers[0].image`. */
  readonly field: string | null;
  /** True when retrying the same request may succeed (429, 5xx, no response). */
  readonly retryable: boolean;

  constructor(
    target: KubeTarget,
    details: { status: number; reason: string | null; message: string; field?: string | null },
    options?: { cause?: unknown },
  ) {
    const what = target.name === null ? target.namespace : `${target.namespace}/${target.name}`;
    const statusText = details.status === 0 ? 'no response' : `${details.status} ${details.reason ?? 'Error'}`;
    super(`${target.verb} ${singular(target.resource)} ${what}: ${statusText}: ${details.message}`, options);
    this.verb = target.verb;
    this.resource = target.resource;
    this.namespace = target.namespace;
    this.objectName = target.name;
    this.status = details.status;
    this.reason = details.reason;
    this.field = details.field ?? null;
    this.retryable = details.status === 0 || details.status === 429 || details.status >= 500;
  }

  /** Human label of the operation, e.g. `create job`. */
  get operation(): string {
    return `${this.verb} ${singular(this.resource)}`;
  }
}

function singular(resource: string): string {
  const plural = resource.split('.')[0] ?? resource;
  return plural.endsWith('s') ? plural.slice(0, -1) : plural;
}

const INVALID_RUN_INPUT_ERROR_MARKER = markerOf('InvalidRunInputError');

/** The run input or runtime options are invalid (before anything was sent to the apiserver). */
export class InvalidRunInputError extends KubeRuntimeError {
  readonly [INVALID_RUN_INPUT_ERROR_MARKER] = true;
  override name = 'InvalidRunInputError';

  /** True only for a {@link InvalidRunInputError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is InvalidRunInputError {
    return hasMarker(value, INVALID_RUN_INPUT_ERROR_MARKER);
  }
  /** Dot-path of the offending input, e.g. `files.prompt.md`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

const MISSING_CONFIGURATION_ERROR_MARKER = markerOf('MissingConfigurationError');

/** Out of cluster (or with an incomplete pod), a value that would have been inherited was not configured. */
export class MissingConfigurationError extends KubeRuntimeError {
  readonly [MISSING_CONFIGURATION_ERROR_MARKER] = true;
  override name = 'MissingConfigurationError';

  /** True only for a {@link MissingConfigurationError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is MissingConfigurationError {
    return hasMarker(value, MISSING_CONFIGURATION_ERROR_MARKER);
  }
  /** Option names that must be set, e.g. `image`, `namespace`. */
  readonly missing: readonly string[];
  constructor(missing: readonly string[], context: string) {
    super(`${context}: missing ${missing.join(', ')} (set ${missing.length === 1 ? 'it' : 'them'} explicitly)`);
    this.missing = missing;
  }
}

const LOCK_HELD_ERROR_MARKER = markerOf('LockHeldError');

/** The per-agent lock is held by another run and the policy was `reject`, or the wait bound elapsed. */
export class LockHeldError extends KubeRuntimeError {
  readonly [LOCK_HELD_ERROR_MARKER] = true;
  override name = 'LockHeldError';

  /** True only for a {@link LockHeldError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is LockHeldError {
    return hasMarker(value, LOCK_HELD_ERROR_MARKER);
  }
  readonly agentId: string;
  /** Run id of the current holder. */
  readonly holderRunId: string;
  /** `lock-conflict` (policy reject) or `lock-timeout` (policy wait, bound elapsed). */
  readonly code: 'lock-conflict' | 'lock-timeout';
  /** The lock key within the agent (`''`: the agent as a whole). */
  readonly lockKey: string;
  constructor(
    agentId: string,
    holderRunId: string,
    code: 'lock-conflict' | 'lock-timeout',
    waitedSeconds = 0,
    lockKey = '',
  ) {
    const lock = lockKey === '' ? `agent ${agentId}` : `agent ${agentId} for ${JSON.stringify(lockKey)}`;
    super(
      code === 'lock-conflict'
        ? `acquire lock of ${lock}: held by run ${holderRunId}`
        : `acquire lock of ${lock}: still held by run ${holderRunId} after ${waitedSeconds}s`,
    );
    this.agentId = agentId;
    this.lockKey = lockKey;
    this.holderRunId = holderRunId;
    this.code = code;
  }
}

const RUN_NOT_FOUND_ERROR_MARKER = markerOf('RunNotFoundError');

/** No Job exists for the run id given to `reattach`. */
export class RunNotFoundError extends KubeRuntimeError {
  readonly [RUN_NOT_FOUND_ERROR_MARKER] = true;
  override name = 'RunNotFoundError';

  /** True only for a {@link RunNotFoundError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is RunNotFoundError {
    return hasMarker(value, RUN_NOT_FOUND_ERROR_MARKER);
  }
  readonly runId: string;
  constructor(namespace: string, runId: string) {
    super(`reattach run ${namespace}/${runId}: no Job of this run exists`);
    this.runId = runId;
  }
}

const RUN_CANCELLED_ERROR_MARKER = markerOf('RunCancelledError');

/**
 * `startRun` was cancelled (its signal aborted) before it could return a handle: while it waited for the agent's lock,
 * or before the Job's container could start. Nothing of the run is left behind: no Job, no Lease of this run.
 */
export class RunCancelledError extends KubeRuntimeError {
  readonly [RUN_CANCELLED_ERROR_MARKER] = true;
  override name = 'RunCancelledError';

  /** True only for a {@link RunCancelledError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is RunCancelledError {
    return hasMarker(value, RUN_CANCELLED_ERROR_MARKER);
  }
  readonly runId: string;
  /** `lock-wait`: while waiting for the agent's lock; `before-start`: the Job was not created or was deleted unstarted. */
  readonly phase: 'lock-wait' | 'before-start';
  constructor(runId: string, phase: 'lock-wait' | 'before-start') {
    super(
      phase === 'lock-wait'
        ? `start run ${runId}: cancelled while waiting for the agent's lock`
        : `start run ${runId}: cancelled before its container started`,
    );
    this.runId = runId;
    this.phase = phase;
  }
}

const RUN_DETACHED_ERROR_MARKER = markerOf('RunDetachedError');

/**
 * The handle's `detach` was called: this process stopped following the run and left its Job, pod, per-run Secret and
 * Lease as they were, for another process to adopt (`adoptOrphan`) or the orphan sweep to clean up. The run itself
 * goes on (or ended) in the cluster; its outcome is not known here.
 */
export class RunDetachedError extends KubeRuntimeError {
  readonly [RUN_DETACHED_ERROR_MARKER] = true;
  override name = 'RunDetachedError';

  /** True only for a {@link RunDetachedError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is RunDetachedError {
    return hasMarker(value, RUN_DETACHED_ERROR_MARKER);
  }
  readonly runId: string;
  readonly jobName: string;
  constructor(namespace: string, jobName: string, runId: string, reason: string) {
    super(`follow run ${runId}: detached (${reason}); Job ${namespace}/${jobName} is left for adoption`);
    this.runId = runId;
    this.jobName = jobName;
  }
}

const OUTPUT_DELIVERY_ERROR_MARKER = markerOf('OutputDeliveryError');

/**
 * The caller's `onOutput` rejected the same output on every try: the follow stops there (delivering later output
 * would skip this part) and reports where. `checkpoint` is the position before the undelivered text.
 */
export class OutputDeliveryError extends KubeRuntimeError {
  readonly [OUTPUT_DELIVERY_ERROR_MARKER] = true;
  override name = 'OutputDeliveryError';

  /** True only for an {@link OutputDeliveryError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is OutputDeliveryError {
    return hasMarker(value, OUTPUT_DELIVERY_ERROR_MARKER);
  }
  /** How many times `onOutput` was called with the text. */
  readonly attempts: number;
  /** Bytes of output (UTF-8) that were not delivered in the failing call. */
  readonly undeliveredBytes: number;
  constructor(where: string, attempts: number, undeliveredBytes: number, cause: unknown) {
    super(
      `${where}: onOutput rejected ${undeliveredBytes} bytes of output ${attempts} times (${cause instanceof Error ? cause.message : String(cause)}); output from there on was not delivered`,
      { cause },
    );
    this.attempts = attempts;
    this.undeliveredBytes = undeliveredBytes;
  }
}

const JOB_FAILED_ERROR_MARKER = markerOf('JobFailedError');

/**
 * A run ended without success, for callers that prefer an exception: `outcome` itself resolves with every outcome;
 * {@link JobFailedError.fromOutcome} turns a non-success into this error.
 */
export class JobFailedError extends KubeRuntimeError {
  readonly [JOB_FAILED_ERROR_MARKER] = true;
  override name = 'JobFailedError';

  /** True only for a {@link JobFailedError} (or a subclass), even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is JobFailedError {
    return hasMarker(value, JOB_FAILED_ERROR_MARKER);
  }
  readonly code: OutcomeCode;
  readonly reason: string | null;
  readonly hint: string | null;
  constructor(jobName: string, code: OutcomeCode, message: string, reason: string | null, hint: string | null) {
    super(`run job ${jobName}: ${code}: ${message}`);
    this.code = code;
    this.reason = reason;
    this.hint = hint;
  }

  /** `null` for `succeeded`, else the error describing the outcome. */
  static fromOutcome(outcome: {
    code: OutcomeCode;
    jobName: string;
    message: string;
    reason: string | null;
    hint: string | null;
  }): JobFailedError | null {
    return outcome.code === 'succeeded'
      ? null
      : new JobFailedError(outcome.jobName, outcome.code, outcome.message, outcome.reason, outcome.hint);
  }
}
