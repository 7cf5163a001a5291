/**
 * The adapter's ports: what it needs from the layers below (kube-runtime, stream-json) and from the host, as
 * structural interfaces. The real implementations are wired in `createServerAdapter`; tests pass fakes.
 */
import type { KeyReference, Toleration } from './kubernetes-fields.ts';

// ------------------------------------------------------------------------------------------------ files and env

/** One file of the per-run Secret. */
export interface RunFile {
  /** Key in the Secret's data: `[-._a-zA-Z0-9]+`, unique within the run. */
  key: string;
  /** Path relative to {@link RunLaunchRequest.files}`.mountPath` where the file appears; `null` = not mounted (env only). */
  path: string | null;
  /** File content (UTF-8 text or bytes). */
  content: string | Uint8Array;
  /** True when the content is a credential (the run token, env values): never logged, never in `onMeta`. */
  sensitive: boolean;
}

/** One environment variable of the claude container. Secrets are only ever references. */
export type EnvVarSpec =
  | { name: string; value: string }
  /** From the per-run Secret (key of a {@link RunFile}). */
  | { name: string; runFileKey: string }
  | { name: string; secretKeyRef: KeyReference }
  | { name: string; configMapKeyRef: KeyReference };

// ------------------------------------------------------------------------------------------------ the launcher

/** Everything kube-runtime needs to run one attempt of a run as a Job. */
export interface RunLaunchRequest {
  /** Paperclip run id (idempotency key, Job label). */
  runId: string;
  /** 1 for the first attempt; 2 for the fresh-session retry after an unknown session. */
  attempt: number;
  agentId: string;
  companyId: string;
  /** Issue id for issue runs; `null` for plain wakes. */
  taskKey: string | null;
  /** Target cluster: namespace (resolved) and kubeconfig path (`null` = in-cluster). */
  target: { namespace: string; kubeconfigPath: string | null };
  container: {
    image: string;
    imagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
    /** Full argv of the container (`command`; no `args`). */
    command: string[];
    env: EnvVarSpec[];
    resources: { requests: { cpu?: string; memory?: string }; limits: { cpu?: string; memory?: string } };
  };
  /** The per-run Secret, mounted read-only at `mountPath` and owned by the Job. */
  files: { mountPath: string; entries: RunFile[] };
  /** HOME of the container: the session volume claim mounted there, or an emptyDir when `claimName` is `null`. */
  home: { mountPath: string; claimName: string | null };
  pod: {
    serviceAccountName: string | null;
    automountServiceAccountToken: boolean;
    imagePullSecrets: string[];
    nodeSelector: Record<string, string>;
    tolerations: Toleration[];
    affinity: Record<string, unknown> | null;
    runtimeClassName: string | null;
    priorityClassName: string | null;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** JSON merge patch applied to the pod spec last. */
    podSpecPatch: Record<string, unknown> | null;
  };
  lifecycle: {
    /** Job activeDeadlineSeconds; 0 = none. Seconds. */
    timeoutSec: number;
    /** terminationGracePeriodSeconds and the extra wait past the deadline. Seconds. */
    graceSec: number;
    lockPolicy: 'wait' | 'adopt' | 'reject';
    lockWaitSeconds: number;
    unschedulableGraceSec: number;
    imagePullGraceSec: number;
    retention: { onSuccess: 'delete' | 'keep'; onFailure: 'delete' | 'keep'; keepFailedSeconds: number };
    ttlSecondsAfterFinished: number;
  };
  /**
   * Called with each chunk of the container's output (UTF-8 text; a multi-byte character is never split across
   * chunks), in order, exactly once per byte; the launcher awaits each call (back-pressure).
   */
  onOutput: (chunk: string) => Promise<void>;
  /** Called with lines about the Job's progress ("pod scheduled", "pulling image"); optional. */
  onProgress?: (message: string) => Promise<void>;
  /** Aborting it cancels the run: the Job is deleted and `outcome` settles with `cancelled`. */
  signal: AbortSignal;
}

/** Kubernetes-side outcome classes (kube-runtime's vocabulary). */
export type RunOutcomeCode =
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
  | 'deleted-externally'
  | 'lock-timeout'
  | 'lock-conflict';

/** How the Job ended, in Kubernetes terms (structural view of kube-runtime's outcome). */
export interface RunOutcomeLike {
  code: RunOutcomeCode;
  exitCode?: number | null;
  signal?: string | null;
  /** Kubernetes reason, e.g. `OOMKilled`, `DeadlineExceeded`, `ImagePullBackOff`. */
  reason?: string | null;
  message?: string | null;
  hint?: string | null;
  /** Recent Kubernetes events of the Job and pod. */
  events?: readonly { type?: string; reason?: string; message?: string; count?: number }[];
  jobName?: string | null;
  namespace?: string | null;
  podName?: string | null;
  /** When the cancellation was confirmed (pod gone or grace elapsed), ISO time. */
  cancelledAt?: string | null;
}

/** A started run. */
export interface RunHandle {
  /** Job name, for logs and `onMeta`. */
  jobName: string;
  namespace: string;
  /** Settles when the container has ended and its output has been delivered to `onOutput` completely. */
  outcome: Promise<RunOutcomeLike>;
  /** Deletes the Job (with propagation) and waits for the container to end within its grace period. */
  cancel(reason: string): Promise<void>;
}

/** Starts runs as Kubernetes Jobs (implemented over kube-runtime). */
export interface RunLauncher {
  /** Creates the Job and its Secret; rejects (with nothing left behind) when that fails. */
  start(request: RunLaunchRequest): Promise<RunHandle>;
}

// ------------------------------------------------------------------------------------------------ stream-json

/** Token counts of one run. */
export interface TokenUsageLike {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

/** Why Claude Code failed (structural view of stream-json's `RunFailure`). */
export interface RunFailureLike {
  /** stream-json's kebab-case class, e.g. `authentication`, `max-turns`, `truncated-stream`. */
  code: string;
  hint: string;
  message: string;
  retryable?: boolean;
  httpStatus?: number | null;
}

/** What one run of Claude Code did (structural view of stream-json's `RunSummary`). */
export interface RunSummaryLike {
  sessionId: string | null;
  model: string | null;
  hasResult: boolean;
  isError: boolean;
  resultSubtype?: string | null;
  resultText: string | null;
  /** The run's answer: the result text, else the last assistant text. */
  summary: string | null;
  errors?: readonly string[];
  usage: TokenUsageLike;
  /** This run's cost in US dollars. */
  costUsd: number | null;
  numTurns: number | null;
  stopReason?: string | null;
  terminalReason?: string | null;
  permissionDenials?: readonly unknown[];
  failure: RunFailureLike | null;
}

/** Folds a run's stdout into a summary (implemented over stream-json). */
export interface RunAccumulatorLike {
  /** Feeds one stdout chunk (any split; not necessarily whole lines). */
  push(chunk: string): void;
  /** The final summary, given what is known about the process. */
  finish(exit: { exitCode: number | null; signal: string | null }): RunSummaryLike;
}

// ------------------------------------------------------------------------------------------------ host

/** Time (the default looks the globals up at call time, so fake timers work). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Operational log of the adapter (not the run's log). */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** One file read from the Paperclip host. */
export interface HostFile {
  /** Path relative to the directory read, with `/` separators. */
  path: string;
  content: Uint8Array;
}

/** Reads files of the Paperclip server host (instructions, skill directories). */
export interface HostFiles {
  readFile(path: string): Promise<Uint8Array>;
  /** Every regular file under `path`, recursively (symlinks followed, loops skipped). */
  readDirectory(path: string): Promise<HostFile[]>;
  /** The path with every symlink resolved (`realpath(3)`); absent: paths are taken as written (no symlinks). */
  realpath?(path: string): Promise<string>;
}
