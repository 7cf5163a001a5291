/** The vocabulary of a run's life: phases, outcome codes and the final outcome. */

/** How a run ended. Kebab-case and stable: callers switch on it. */
export type OutcomeCode =
  | 'succeeded'
  | 'image-pull'
  | 'config-error'
  | 'unschedulable'
  | 'oom-killed'
  | 'evicted'
  | 'deadline-exceeded'
  | 'exit-code'
  | 'never-started'
  | 'cancelled'
  | 'deleted-externally';

/** Every {@link OutcomeCode}, in a stable order. */
export const OUTCOME_CODES: readonly OutcomeCode[] = [
  'succeeded',
  'image-pull',
  'config-error',
  'unschedulable',
  'oom-killed',
  'evicted',
  'deadline-exceeded',
  'exit-code',
  'never-started',
  'cancelled',
  'deleted-externally',
];

/** A Kubernetes Event about the run's Job or pod, trimmed to what a user needs. */
export interface RunKubeEvent {
  /** `Normal` or `Warning`. */
  type: string;
  /** E.g. `FailedScheduling`, `Failed`, `BackOff`. */
  reason: string;
  message: string;
  /** How many times the apiserver saw it. */
  count: number;
  /** Kind of the object it is about (`Pod`, `Job`). */
  involvedKind: string;
}

/** The final outcome of a run. */
export interface RunOutcome {
  code: OutcomeCode;
  /** Kubernetes reason behind the code, e.g. `OOMKilled`, `DeadlineExceeded`, `ErrImageNeverPull`, `Unschedulable`. */
  reason: string | null;
  /** One sentence for the user, e.g. `container claude was killed: out of memory (limit 64Mi)`. */
  message: string;
  /** What to do about it; `null` when nothing is to be done (success, cancel). */
  hint: string | null;
  /** Exit code of the main container when it terminated; `null` otherwise. */
  exitCode: number | null;
  /** Recent Warning events of the pod and Job (at most 10, newest last). */
  events: readonly RunKubeEvent[];
  namespace: string;
  jobName: string;
  /** The pod of the run; `null` when none was ever created. */
  podName: string | null;
  /** ISO time the outcome was decided (clock port). */
  endedAt: string;
}

/** Coarse phase of a run, as reduced from the Job and Pod watches. */
export type RunPhase = 'pending' | 'scheduled' | 'running' | 'ended';

/** What `handle.events` yields, in order; `ended` is always last. */
export type RunEvent =
  | { type: 'scheduled'; podName: string; nodeName: string }
  | { type: 'running'; podName: string; containerStartedAt: string | null }
  /** A warning seen while the run is still alive (e.g. `Pulling`, `FailedScheduling`), for progress lines. */
  | { type: 'progress'; reason: string; message: string }
  | { type: 'ended'; outcome: RunOutcome };
