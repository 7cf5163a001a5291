/**
 * The transfer mode's two trips, over one port ({@link PodExec}: a command in the run's container through `pods/exec`):
 *
 * - in ({@link copyIn}): Paperclip's `readGitWorkspaceSnapshot` says what to bring (HEAD on its branch, the
 *   uncommitted and untracked files, the deletions; ignored files and heavy directories left out by Paperclip's
 *   exclude rules); HEAD's objects go once as a git pack and the pod checks them out, the overlay follows as a tar
 *   ({@link copyGitWorkspaceIn}); a directory that is not a git repository goes as one tar ({@link copyDirectoryIn}).
 *   A workspace with nested project repositories is refused (only one repository's changes would come back). Then a
 *   `base` snapshot commit of what arrived, and the `ready` marker that lets the container's entry start claude;
 * - back ({@link collect}): once claude ended, a `worktree` snapshot and a git bundle of both snapshots relative to the
 *   server's HEAD (bytes in proportion to the change), applied by {@link applyTransferredChanges}; then the
 *   `collected` marker that lets the container end.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGitWorkspaceSnapshot } from '@paperclipai/adapter-utils/git-workspace-sync';
import { applyTransferredChanges, type AppliedChanges } from './apply-changes.ts';
import { applyDirectoryChanges, type AppliedDirectoryChanges } from './apply-directory.ts';
import { copyDirectoryIn, directoryExcludes } from './directory-transfer.ts';
import { checked, copyGitWorkspaceIn, LimitError, type CopyInStep } from './copy-in.ts';
import {
  CONTROL_FILE,
  DIRECTORY_EXPORT_SCRIPT,
  EXPORT_SCRIPT,
  SNAPSHOT_SCRIPT,
  WAIT_EXITED_SCRIPT,
} from './pod-scripts.ts';

/** Runs an argv in the run's container (no shell unless the argv starts one). */
export type PodExec = (
  command: readonly string[],
  options?: {
    stdin?: Uint8Array | AsyncIterable<Uint8Array>;
    onStdout?: (chunk: Uint8Array) => void | Promise<void>;
    maxStdoutBytes?: number;
    timeoutMs?: number;
  },
) => Promise<{ exitCode: number; stdout: Uint8Array; stdoutBytes: number; stderr: string }>;

/** A transfer's limits and paths. */
export interface TransferSettings {
  /** What the workspace is on the server: a git repository, or a directory that is not one. */
  kind: TransferKind;
  /** The workspace on the server (real path). */
  hostDir: string;
  /** The workspace in the pod (the server's path, on the pod's own volume). */
  podDir: string;
  /** The control directory in the pod. */
  controlDir: string;
  maxInBytes: number;
  maxOutBytes: number;
  /** Bound of each single exec. Milliseconds. */
  execTimeoutMs: number;
}

/** A workspace the transfer carries: a git repository, or a plain directory (`directory-transfer.ts`). */
export type TransferKind = 'git' | 'directory';

/** The transfer's own failure: the message says which trip and why. */
export class TransferError extends Error {
  override name = 'TransferError';
  /** Which trip failed: `in` (claude did not start) or `back` (the changes are not applied). */
  readonly trip: 'in' | 'back';
  constructor(trip: 'in' | 'back', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.trip = trip;
  }
}

/** What went in. */
export interface CopiedIn {
  /** The server's HEAD that went in (empty for a directory). */
  baseHead: string;
  /** Its branch (`null`: detached, or a directory). */
  baseBranch: string | null;
  bytesIn: number;
  durationMs: number;
  /** The copy-in's steps and their durations (absent for a copy-in done before an adoption). */
  steps?: CopyInStep[];
}

/** What was applied: for a git workspace the commits and files, for a directory the files. */
export type AppliedKind = ({ kind: 'git' } & AppliedChanges) | ({ kind: 'directory' } & AppliedDirectoryChanges);

/** What came back. */
export type Collected = AppliedKind & { bytesOut: number; durationMs: number };

/**
 * Copies the server's workspace into the pod and releases claude (`ready`). On failure writes `abort` (best effort),
 * so the entry ends without starting claude, and rejects with a {@link TransferError}.
 */
export async function copyIn(input: { settings: TransferSettings; exec: PodExec; runId: string }): Promise<CopiedIn> {
  const { settings, exec } = input;
  const started = Date.now();
  const steps: CopyInStep[] = [];
  try {
    const snapshot = settings.kind === 'git' ? await readGitWorkspaceSnapshot(settings.hostDir) : null;
    if (settings.kind === 'git' && snapshot === null)
      throw new TransferError('in', `${settings.hostDir} is not a git repository with a commit`);
    // Planning leaves such a workspace out (invocation/workspace.ts); it gained them since.
    if ((snapshot?.repositories ?? []).length > 0)
      throw new TransferError(
        'in',
        `${settings.hostDir} holds nested project repositories (.paperclip-repositories): the transfer mode brings back one repository's changes, so theirs would be lost; claude was not started (use workspace.mode shared)`,
      );
    steps.push({ step: 'workspace read', ms: Date.now() - started });
    // A git repository: HEAD's objects once, checked out in the pod (copy-in.ts); else a directory that is not one
    // (directory-transfer.ts).
    const copied =
      snapshot === null
        ? await copyDirectoryIn({ settings, exec, runId: input.runId })
        : await copyGitWorkspaceIn({ settings, exec, snapshot, runId: input.runId });
    steps.push(...copied.steps);
    await checked(
      exec,
      'releasing claude',
      [
        'sh',
        '-c',
        'rm -rf -- "$1/.paperclip-runtime" && : > "$2"',
        'sh',
        settings.podDir,
        `${settings.controlDir}/${CONTROL_FILE.ready}`,
      ],
      { timeoutMs: settings.execTimeoutMs },
    );
    const durationMs = Date.now() - started;
    steps.push({ step: 'claude released', ms: durationMs - steps.reduce((sum, entry) => sum + entry.ms, 0) });
    return {
      baseHead: snapshot?.headCommit ?? '',
      baseBranch: snapshot?.branchName ?? null,
      bytesIn: copied.bytesIn,
      durationMs,
      steps,
    };
  } catch (error) {
    await exec(['sh', '-c', ': > "$1"', 'sh', `${settings.controlDir}/${CONTROL_FILE.abort}`], {
      timeoutMs: 30_000,
    }).catch(() => undefined);
    if (error instanceof TransferError) throw error;
    if (error instanceof LimitError) throw new TransferError('in', error.message);
    throw new TransferError(
      'in',
      `copying the workspace into the pod failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Waits (in slices of `sliceSec`, reconnecting after a broken exec) until the entry reports claude's end; resolves its
 * exit code, or `null` when `stop` resolved first (the container ended without reporting).
 */
export async function waitForClaudeExit(input: {
  exec: PodExec;
  controlDir: string;
  stop: Promise<unknown>;
  sliceSec?: number;
}): Promise<number | null> {
  let stopped = false;
  void input.stop.then(() => {
    stopped = true;
  });
  const slice = input.sliceSec ?? 300;
  while (!stopped) {
    const attempt = input
      .exec(['env', `CK8S_TRANSFER_DIR=${input.controlDir}`, 'sh', '-c', WAIT_EXITED_SCRIPT, 'wait', String(slice)], {
        timeoutMs: (slice + 60) * 1000,
      })
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
    const outcome = await Promise.race([attempt, input.stop.then(() => null)]);
    if (outcome === null) return null;
    if ('result' in outcome) {
      if (outcome.result.exitCode === 0) {
        const code = Number(new TextDecoder().decode(outcome.result.stdout).trim());
        return Number.isInteger(code) ? code : -1;
      }
      continue;
    }
    // A broken connection: try again shortly, unless the container is gone meanwhile.
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 2000)), input.stop]);
  }
  return null;
}

/** Collects the agent's changes and applies them to the server's workspace, then releases the container. */
export async function collect(input: {
  settings: TransferSettings;
  exec: PodExec;
  runId: string;
  copied: CopiedIn;
}): Promise<Collected> {
  const { settings, exec, copied } = input;
  const started = Date.now();
  const temp = await mkdtemp(join(tmpdir(), 'claude-k8s-collect-'));
  try {
    // A git bundle of the snapshots, or for a directory the changed paths and their blobs.
    const changesPath = join(temp, settings.kind === 'git' ? 'changes.bundle' : 'changes.stream');
    const handle = await open(changesPath, 'w');
    const message = `claude-k8s: the working tree when claude ended (run ${input.runId})`;
    let bytesOut = 0;
    try {
      const result = await exec(
        settings.kind === 'git'
          ? [
              'env',
              `CK8S_SNAPSHOT=${SNAPSHOT_SCRIPT}`,
              'sh',
              '-c',
              EXPORT_SCRIPT,
              'export',
              settings.podDir,
              settings.controlDir,
              copied.baseHead,
              message,
            ]
          : ['sh', '-c', DIRECTORY_EXPORT_SCRIPT, 'export', settings.podDir, settings.controlDir, message],
        {
          onStdout: async (chunk) => {
            await handle.write(chunk);
          },
          maxStdoutBytes: settings.maxOutBytes,
          timeoutMs: settings.execTimeoutMs,
        },
      );
      bytesOut = result.stdoutBytes;
      if (result.exitCode !== 0)
        throw new TransferError(
          'back',
          `exporting the changes failed in the pod (exit ${result.exitCode}): ${result.stderr.trim().slice(-2000)}`,
        );
    } catch (error) {
      if (error instanceof TransferError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new TransferError(
        'back',
        /stdout passed its limit/.test(message)
          ? `the agent's changes are larger than workspace.transferMaxOutMiB (${Math.round(settings.maxOutBytes / 1048576)} MiB); nothing was applied`
          : `collecting the changes failed: ${message}`,
        { cause: error },
      );
    } finally {
      await handle.close();
    }
    let applied: AppliedKind;
    try {
      applied =
        settings.kind === 'git'
          ? {
              kind: 'git',
              ...(await applyTransferredChanges({
                dir: settings.hostDir,
                runId: input.runId,
                baseHead: copied.baseHead,
                baseBranch: copied.baseBranch,
                bundlePath: changesPath,
              })),
            }
          : {
              kind: 'directory',
              ...(await applyDirectoryChanges({
                dir: settings.hostDir,
                runId: input.runId,
                changesPath,
                exclude: (await directoryExcludes(settings.hostDir)).patterns,
              })),
            };
    } catch (error) {
      throw new TransferError(
        'back',
        `applying the changes to the server's workspace failed: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    return { ...applied, bytesOut, durationMs: Date.now() - started };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Lets the container end (best effort: it ends by itself after the collection window). */
export async function releaseContainer(exec: PodExec, controlDir: string): Promise<void> {
  await exec(['sh', '-c', ': > "$1"', 'sh', `${controlDir}/${CONTROL_FILE.collected}`], { timeoutMs: 30_000 }).catch(
    () => undefined,
  );
}
