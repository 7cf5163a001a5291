/**
 * The adapter's ports: what it needs from the layers below (kube-runtime as a `Pick` of its real interface,
 * stream-json) and from the host. The real implementations are wired in `createServerAdapter`; tests pass fakes.
 */
import type { KubeRuntime } from '@claude-k8s/kube-runtime';

/** Time and the operational log (not the run's log): kube-runtime's ports, one shape for both layers. */
export type { Clock, Logger } from '@claude-k8s/kube-runtime';

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
export type RunStarter = Pick<KubeRuntime, 'startRun'> & Partial<Pick<KubeRuntime, 'adoptOrphan' | 'exec'>>;

/** What the environment test needs of kube-runtime: the dry run on the `startRun` manifest path. */
export type RunDryRunner = Pick<KubeRuntime, 'dryRun'>;

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
  /**
   * Assistant activity seen on stdout (text, thinking and tool-call events): the proof that the attempt
   * made a turn. `undefined` when the accumulator does not count it.
   */
  assistantEvents?: number;
  /** Lines that were not stream-json (the first few); `too-long` ones were dropped unread (`droppedLength`). */
  parseErrors?: readonly { reason: string; lineNumber: number; droppedLength?: number }[];
  failure: RunFailureLike | null;
}

/** Folds a run's stdout into a summary (implemented over stream-json). */
export interface RunAccumulatorLike {
  /** Feeds one stdout chunk (any split; not necessarily whole lines). */
  push(chunk: string): void;
  /** True once a `result` event has been pushed (the CLI printed its final result; it should exit now). */
  hasResult(): boolean;
  /** The final summary, given what is known about the process. */
  finish(exit: { exitCode: number | null; signal: string | null }): RunSummaryLike;
}

// ------------------------------------------------------------------------------------------------ host

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
  /** Owner and kind of a path (symlinks followed); rejects when it does not exist. Absent: no workspace is mounted. */
  stat?(path: string): Promise<HostFileStat>;
}

/** What {@link HostFiles.stat} tells about a path. */
export interface HostFileStat {
  uid: number;
  gid: number;
  isDirectory: boolean;
}
