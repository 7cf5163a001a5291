/**
 * The adapter's ports: what it needs from the layers below (kube-runtime as a `Pick` of its real interface,
 * stream-json) and from the host. The real implementations are wired in `createServerAdapter`; tests pass fakes.
 */
import type { KubeRuntime } from '@claude-k8s/kube-runtime';
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

// ------------------------------------------------------------------------------------------------ the runtime

/** The cluster a run goes to: namespace (resolved) and kubeconfig path (`null` = in-cluster). */
export interface RunTarget {
  namespace: string;
  kubeconfigPath: string | null;
}

/**
 * What `execute` needs of kube-runtime: its real interface, narrowed. `startRun` follows the output into `onOutput`
 * and settles the outcome after the drain (see `@claude-k8s/kube-runtime`); tests pass a kube-runtime over in-memory
 * or fake-apiserver ports, or a scripted fake.
 */
export type RunStarter = Pick<KubeRuntime, 'startRun'>;

/** What the environment test needs of kube-runtime: the dry run on the `startRun` manifest path. */
export type RunDryRunner = Pick<KubeRuntime, 'dryRun'>;

/**
 * One attempt of a run as the adapter plans it from Paperclip's context and the agent's configuration (built by
 * `buildInvocation`, shown in `onMeta`); `toRunSpec` turns it into kube-runtime's `RunSpec`.
 */
export interface RunLaunchRequest {
  /** Paperclip run id (idempotency key, Job label). */
  runId: string;
  agentId: string;
  companyId: string;
  /** Issue id for issue runs; `null` for plain wakes. */
  taskKey: string | null;
  target: RunTarget;
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
}
