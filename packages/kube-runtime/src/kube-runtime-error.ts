/**
 * Errors of kube-runtime: one base class with a cross-realm marker, and data-carrying subclasses. client-node's own
 * error shapes (`ApiException`, watch `statusCode` errors) are converted here and never reach callers.
 */
import type { OutcomeCode } from './outcome.ts';

const MARKER = Symbol.for('claude-k8s.kube-runtime.error');

/** Base class of every error kube-runtime throws. Use {@link KubeRuntimeError.isInstance}, not `instanceof`. */
export class KubeRuntimeError extends Error {
  readonly [MARKER] = true;
  override name = 'KubeRuntimeError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** True for any kube-runtime error, even one from another installed copy of the package. */
  static isInstance(value: unknown): value is KubeRuntimeError {
    return typeof value === 'object' && value !== null && MARKER in value;
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

/** An apiserver request failed. `status` is the HTTP status (0 when no response was received). */
export class KubeApiError extends KubeRuntimeError {
  override name = 'KubeApiError';
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

/** The run input or runtime options are invalid (before anything was sent to the apiserver). */
export class InvalidRunInputError extends KubeRuntimeError {
  override name = 'InvalidRunInputError';
  /** Dot-path of the offending input, e.g. `files.prompt.md`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** Out of cluster (or with an incomplete pod), a value that would have been inherited was not configured. */
export class MissingConfigurationError extends KubeRuntimeError {
  override name = 'MissingConfigurationError';
  /** Option names that must be set, e.g. `image`, `namespace`. */
  readonly missing: readonly string[];
  constructor(missing: readonly string[], context: string) {
    super(`${context}: missing ${missing.join(', ')} (set ${missing.length === 1 ? 'it' : 'them'} explicitly)`);
    this.missing = missing;
  }
}

/** The per-agent lock is held by another run and the policy was `reject`, or the wait bound elapsed. */
export class LockHeldError extends KubeRuntimeError {
  override name = 'LockHeldError';
  readonly agentId: string;
  /** Run id of the current holder. */
  readonly holderRunId: string;
  /** `lock-conflict` (policy reject) or `lock-timeout` (policy wait, bound elapsed). */
  readonly code: 'lock-conflict' | 'lock-timeout';
  constructor(agentId: string, holderRunId: string, code: 'lock-conflict' | 'lock-timeout', waitedSeconds = 0) {
    super(
      code === 'lock-conflict'
        ? `acquire lock of agent ${agentId}: held by run ${holderRunId}`
        : `acquire lock of agent ${agentId}: still held by run ${holderRunId} after ${waitedSeconds}s`,
    );
    this.agentId = agentId;
    this.holderRunId = holderRunId;
    this.code = code;
  }
}

/** No Job exists for the run id given to `reattach`. */
export class RunNotFoundError extends KubeRuntimeError {
  override name = 'RunNotFoundError';
  readonly runId: string;
  constructor(namespace: string, runId: string) {
    super(`reattach run ${namespace}/${runId}: no Job of this run exists`);
    this.runId = runId;
  }
}

/**
 * A run ended without success, for callers that prefer an exception: `outcome` itself resolves with every outcome;
 * {@link JobFailedError.fromOutcome} turns a non-success into this error.
 */
export class JobFailedError extends KubeRuntimeError {
  override name = 'JobFailedError';
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
