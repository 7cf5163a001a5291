/** The vocabulary of a run's life: phases, outcome codes and the final outcome. */
import type { LogCheckpoint } from './log/log-cursor.ts';

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
  /** ISO time the outcome was decided (clock port); for `cancelled`, when the deletion was confirmed. */
  endedAt: string;
  /** ISO time this runtime was asked to cancel the run (clock port); `null` when it was not. */
  cancelledAt: string | null;
  /** How far the container's output was delivered to `onOutput`; `null` when no output was followed. */
  output: RunOutput | null;
}

/** What the output follow of a run delivered. */
export interface RunOutput {
  /** Position after the last byte delivered (persist it to resume a follow in another process). */
  checkpoint: LogCheckpoint;
  /** Rotation gaps: output the kubelet no longer had when the follow resumed (each also a `log-gap` event). */
  gaps: number;
  /** False when the follow could not read to the end (also reported as a `log-incomplete` event). */
  complete: boolean;
}

/** Coarse phase of a run, as reduced from the Job and Pod watches. */
export type RunPhase = 'pending' | 'scheduled' | 'running' | 'ended';

/** What `handle.events` yields, in order; `ended` is always last. */
export type RunEvent =
  | { type: 'scheduled'; podName: string; nodeName: string }
  | { type: 'running'; podName: string; containerStartedAt: string | null }
  /** A warning seen while the run is still alive (e.g. `Pulling`, `FailedScheduling`), for progress lines. */
  | { type: 'progress'; reason: string; message: string }
  /**
   * Output was lost: the kubelet rotated the container's log away while the follow was disconnected. Everything
   * written after `lastTimestampBefore` and before `firstTimestampAfter` that was not delivered is gone;
   * `knownLostBytes` is the part known for sure (the API gives no byte count of rotated files).
   */
  | {
      type: 'log-gap';
      lastTimestampBefore: string | null;
      firstTimestampAfter: string;
      knownLostBytes: number;
      /** The last delivered line was cut midway; a `\n` the container did not write ends it. */
      partialLineLost: boolean;
    }
  /** The output follow ended before the output's end (pod deleted while disconnected, API refusal, give-up). */
  | { type: 'log-incomplete'; message: string; checkpoint: LogCheckpoint }
  | { type: 'ended'; outcome: RunOutcome };

/** What `onProgress` receives: every {@link RunEvent} but `ended` (that is the `outcome`). */
export type RunProgressEvent = Exclude<RunEvent, { type: 'ended' }>;
