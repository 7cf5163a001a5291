/**
 * One run's transfer, beside the run: once the container started, copy the workspace in (claude waits for it), wait
 * for claude's end (success, failure, timeout or cancel alike: the entry reports it and stays up), collect and apply the
 * changes, release the container. After a Paperclip restart, the run that adopts the orphaned Job resumes its transfer
 * ({@link resumeRunTransfer}): it copies in again when the copy-in never finished, else it collects. Neither rejects:
 * the report says what happened, and {@link describeTransfer} / {@link applyTransferToResult} turn it into the run's
 * log lines, `resultJson.workspace.transfer` and, when the transfer failed, the run's error (`k8s_workspace_transfer`).
 * A run detached by Paperclip's shutdown leaves the pod waiting for its adopter (no `collected` marker).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RunDetachedError, type PodExecInput, type PodExecResult } from '@claude-k8s/kube-runtime';
import type { AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { ERROR_CODES } from '../error-codes.ts';
import type { TransferTarget } from '../invocation/workspace.ts';
import { describeSteps } from './copy-in.ts';
import { CONTROL_FILE, POD_REF } from './pod-scripts.ts';
import {
  collect,
  copyIn,
  releaseContainer,
  TransferError,
  waitForClaudeExit,
  type Collected,
  type CopiedIn,
  type PodExec,
  type TransferKind,
  type TransferSettings,
} from './transfer-session.ts';

/** What the transfer needs of the run's handle. */
export interface TransferHandle {
  containerName: string;
  containerStarted: Promise<string | null>;
  outcome: Promise<unknown>;
}

/** What the transfer needs of kube-runtime. */
export type TransferExec = (
  input: Pick<
    PodExecInput,
    'podName' | 'containerName' | 'command' | 'stdin' | 'onStdout' | 'maxStdoutBytes' | 'timeoutMs'
  >,
) => Promise<PodExecResult>;

/** What one run's transfer did. */
export interface TransferReport {
  copiedIn: CopiedIn | null;
  collected: Collected | null;
  /** claude's exit code as the entry reported it; `null` when it never reported. */
  claudeExit: number | null;
  error: TransferError | null;
  /** Why nothing was collected without an error (the container never started). */
  skipped: string | null;
}

/** Settings of {@link startRunTransfer}. */
export interface RunTransferInput {
  target: TransferTarget;
  runId: string;
  handle: TransferHandle;
  exec: TransferExec;
  limits: { maxInMiB: number; maxOutMiB: number };
  /** A progress line for the run's log. */
  log: (line: string) => Promise<void>;
}

const MIB = 1024 * 1024;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The transfer's record in the pod's control directory (`transfer.json`), written before the copy-in: which workspace
 * the pod gets and on which branch, for the run that adopts the Job after a restart. The agent can write there too, so
 * the adopter only compares it with the workspace Paperclip resolved for its own run, never takes a path from it.
 */
const TRANSFER_RECORD = 'transfer.json';

interface TransferRecord {
  runId: string;
  hostDir: string;
  podDir: string;
  /** Absent in records written before directories were carried: `git`. */
  kind: TransferKind;
  branch: string | null;
}

const SKIPPED_DETACHED =
  "Paperclip is shutting down: the pod keeps the agent's changes for the run that adopts the Job after the restart";

/** One run's exec, settings and end, as both ways of running a transfer use them. */
interface TransferContext {
  exec: PodExec;
  settings: TransferSettings;
  /** Settles when the run's outcome does (the container is gone, or the run was detached). */
  ended: Promise<void>;
  /** Set once the outcome rejected with a {@link RunDetachedError} (Paperclip's shutdown). */
  detached: () => boolean;
}

/** The exec, settings and end of a started run's transfer; `null` when the container never started. */
async function transferContext(input: RunTransferInput): Promise<TransferContext | null> {
  const podName = await input.handle.containerStarted.catch(() => null);
  if (podName === null) return null;
  let detached = false;
  const ended = input.handle.outcome.then(
    () => undefined,
    (error: unknown) => {
      if (RunDetachedError.isInstance(error)) detached = true;
    },
  );
  return {
    exec: (command, options = {}) =>
      input.exec({ podName, containerName: input.handle.containerName, command, ...options }),
    settings: {
      kind: input.target.kind,
      hostDir: input.target.hostDir,
      podDir: input.target.podDir,
      controlDir: input.target.controlDir,
      maxInBytes: input.limits.maxInMiB * MIB,
      maxOutBytes: input.limits.maxOutMiB * MIB,
      execTimeoutMs: 600_000,
    },
    ended,
    detached: () => detached,
  };
}

function asTransferError(error: unknown): TransferError {
  return error instanceof TransferError
    ? error
    : new TransferError('back', error instanceof Error ? error.message : String(error), { cause: error });
}

/** The server workspace's branch (`null`: detached HEAD or unreadable). */
async function branchOf(dir: string): Promise<string | null> {
  const result = await promisify(execFile)('git', ['-C', dir, 'symbolic-ref', '-q', '--short', 'HEAD']).catch(
    () => null,
  );
  const branch = result?.stdout.trim() ?? '';
  return branch === '' ? null : branch;
}

/** Writes the {@link TRANSFER_RECORD} (best effort: without it an adopter copies in again only never). */
async function writeRecord(context: TransferContext, record: TransferRecord): Promise<void> {
  const path = `${context.settings.controlDir}/${TRANSFER_RECORD}`;
  await context
    .exec(['sh', '-c', 'printf "%s\\n" "$2" > "$1"', 'sh', path, JSON.stringify(record)], { timeoutMs: 30_000 })
    .catch(() => undefined);
}

/** Waits for claude's end, then collects and applies the changes into the report. */
async function waitAndCollect(
  context: TransferContext,
  report: TransferReport,
  runId: string,
  copied: CopiedIn,
): Promise<void> {
  report.claudeExit = await waitForClaudeExit({
    exec: context.exec,
    controlDir: context.settings.controlDir,
    stop: context.ended,
  });
  if (report.claudeExit === null) {
    if (context.detached()) {
      report.skipped = SKIPPED_DETACHED;
      return;
    }
    throw new TransferError('back', 'the container ended before the changes could be collected (they are lost)');
  }
  report.collected = await collect({ settings: context.settings, exec: context.exec, runId, copied });
}

/** Starts the transfer of a started run; the promise settles once the changes are back (or could not be). */
export async function startRunTransfer(input: RunTransferInput): Promise<TransferReport> {
  const report: TransferReport = { copiedIn: null, collected: null, claudeExit: null, error: null, skipped: null };
  const context = await transferContext(input);
  if (context === null) {
    report.skipped = 'the container never started';
    return report;
  }
  const { settings } = context;
  try {
    const record = { runId: input.runId, hostDir: settings.hostDir, podDir: settings.podDir, kind: settings.kind };
    const branch = settings.kind === 'git' ? await branchOf(settings.hostDir) : null;
    await writeRecord(context, { ...record, branch });
    report.copiedIn = await copyIn({ settings, exec: context.exec, runId: input.runId });
    if (report.copiedIn.baseBranch !== branch)
      await writeRecord(context, { ...record, branch: report.copiedIn.baseBranch });
    await input.log(
      `[claude-k8s] workspace: ${input.target.hostDir} copied into the pod (${report.copiedIn.bytesIn} bytes in ${seconds(report.copiedIn.durationMs)}: ${describeSteps(report.copiedIn.steps ?? [])}); claude starts\n`,
    );
    await waitAndCollect(context, report, input.runId, report.copiedIn);
  } catch (error) {
    report.error = asTransferError(error);
  } finally {
    // A detached run leaves the pod waiting for its adopter.
    if (report.copiedIn !== null && !context.detached()) await releaseContainer(context.exec, settings.controlDir);
  }
  return report;
}

/** Reads the transfer's state in the adopted pod: the control markers, the record, the base snapshot's parent. */
const STATE_SCRIPT = [
  'set -u',
  'd=$1; ws=$2',
  `for f in ${CONTROL_FILE.ready} ${CONTROL_FILE.abort} ${CONTROL_FILE.exited} ${CONTROL_FILE.collected}; do`,
  '  if [ -e "$d/$f" ]; then printf "%s=1\\n" "$f"; fi',
  'done',
  `if [ -f "$d/${TRANSFER_RECORD}" ]; then printf "record="; head -c 8192 "$d/${TRANSFER_RECORD}" | tr -d "\\n"; printf "\\n"; fi`,
  `if base=$(cd -- "$ws" 2>/dev/null && git rev-parse -q --verify "${POD_REF.base}^1" 2>/dev/null); then printf "baseHead=%s\\n" "$base"; fi`,
  `if git --git-dir="$d/scratch.git" rev-parse -q --verify "${POD_REF.base}" >/dev/null 2>&1; then printf "directoryBase=1\\n"; fi`,
  'exit 0',
].join('\n');

/** Empties the pod's workspace after an interrupted copy-in (only while claude has not been released). */
const RESET_SCRIPT = [
  'set -eu',
  'd=$1; ws=$2',
  `if [ -e "$d/${CONTROL_FILE.ready}" ]; then echo "the workspace is already in place" >&2; exit 3; fi`,
  'find "$ws" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +',
  'rm -f -- "$d/snapshot.index" "$d/snapshot.exclude"',
  'rm -rf -- "$d/scratch.git"',
].join('\n');

interface PodTransferState {
  markers: Set<string>;
  record: Partial<TransferRecord> | null;
  /** The server HEAD under the pod's git `base` snapshot. */
  baseHead: string | null;
  /** Whether the pod's scratch repository (a directory workspace) has its `base` snapshot. */
  directoryBase: boolean;
}

async function readPodState(context: TransferContext): Promise<PodTransferState> {
  let result: Awaited<ReturnType<PodExec>>;
  try {
    result = await context.exec(
      ['sh', '-c', STATE_SCRIPT, 'state', context.settings.controlDir, context.settings.podDir],
      {
        timeoutMs: 60_000,
        maxStdoutBytes: 64 * 1024,
      },
    );
  } catch (error) {
    throw new TransferError(
      'back',
      `the adopted Job's container cannot be reached (it has ended; what it changed after its last collection, if anything, was not collected): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (result.exitCode !== 0)
    throw new TransferError(
      'back',
      `reading the transfer's state in the adopted pod failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-2000)}`,
    );
  const state: PodTransferState = { markers: new Set(), record: null, baseHead: null, directoryBase: false };
  for (const line of new TextDecoder().decode(result.stdout).split('\n')) {
    const at = line.indexOf('=');
    if (at < 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    if (value === '1' && Object.values(CONTROL_FILE).includes(key as never)) state.markers.add(key);
    else if (key === 'record') {
      try {
        const parsed = JSON.parse(value) as Partial<TransferRecord> | null;
        if (typeof parsed === 'object' && parsed !== null) state.record = parsed;
      } catch {
        state.record = null;
      }
    } else if (key === 'baseHead' && /^[0-9a-f]{40,64}$/.test(value)) state.baseHead = value;
    else if (key === 'directoryBase' && value === '1') state.directoryBase = true;
  }
  return state;
}

/** Settings of {@link resumeRunTransfer}: the adopting run's own target, the adopted run's id. */
export interface ResumeTransferInput extends RunTransferInput {
  /** The run whose Job was adopted (its refs and commit messages carry this id). */
  adoptedRunId: string;
}

/**
 * Resumes the transfer of an adopted Job (docs/decisions/adoption-after-restart.md): the workspace is the one Paperclip
 * resolved for the adopting run, and must be the one the pod got. When the copy-in never finished, the pod's workspace
 * is emptied and copied in again (claude has not started: the entry waits for `ready`); when claude was released,
 * the adopter waits for its end and collects as the original run would have; when the changes had been collected, or
 * the copy-in had failed, there is nothing to do.
 */
export async function resumeRunTransfer(input: ResumeTransferInput): Promise<TransferReport> {
  const report: TransferReport = { copiedIn: null, collected: null, claudeExit: null, error: null, skipped: null };
  const context = await transferContext(input);
  if (context === null) {
    report.skipped = "the adopted Job's container never started";
    return report;
  }
  const { settings } = context;
  let release = false;
  try {
    const state = await readPodState(context);
    if (state.markers.has(CONTROL_FILE.collected)) {
      report.skipped = 'the changes had been collected before the restart';
      return report;
    }
    if (state.markers.has(CONTROL_FILE.abort)) {
      report.skipped = 'the copy-in had failed before the restart; claude did not start';
      return report;
    }
    const record = state.record;
    const sameWorkspace =
      record !== null &&
      record.hostDir === settings.hostDir &&
      record.podDir === settings.podDir &&
      (record.kind ?? 'git') === settings.kind;
    if (!state.markers.has(CONTROL_FILE.ready)) {
      if (!sameWorkspace) {
        await context
          .exec(['sh', '-c', ': > "$1"', 'sh', `${settings.controlDir}/${CONTROL_FILE.abort}`], { timeoutMs: 30_000 })
          .catch(() => undefined);
        throw new TransferError(
          'in',
          `the copy-in into the adopted pod was interrupted by the restart and cannot be redone (${record === null ? 'the pod has no transfer record' : `the pod was given ${record.hostDir ?? 'another workspace'}, this run's workspace is ${settings.hostDir}`}); claude did not start`,
        );
      }
      const reset = await context.exec(['sh', '-c', RESET_SCRIPT, 'reset', settings.controlDir, settings.podDir], {
        timeoutMs: settings.execTimeoutMs,
      });
      if (reset.exitCode !== 0)
        throw new TransferError(
          'in',
          `emptying the adopted pod's half-copied workspace failed (exit ${reset.exitCode}): ${reset.stderr.trim().slice(-2000)}`,
        );
      report.copiedIn = await copyIn({ settings, exec: context.exec, runId: input.adoptedRunId });
      release = true;
      await input.log(
        `[claude-k8s] workspace: the copy-in into the adopted pod had been interrupted by the restart; ${settings.hostDir} copied in again (${report.copiedIn.bytesIn} bytes in ${seconds(report.copiedIn.durationMs)}: ${describeSteps(report.copiedIn.steps ?? [])}); claude starts\n`,
      );
      await waitAndCollect(context, report, input.adoptedRunId, report.copiedIn);
      return report;
    }
    release = true;
    if (!sameWorkspace)
      throw new TransferError(
        'back',
        `the adopted pod was given ${record?.hostDir === undefined ? 'a workspace this run cannot tell' : `${record.hostDir} (${record.kind ?? 'git'})`}, but this run's workspace is ${settings.hostDir} (${settings.kind}): the agent's changes are not applied, and are lost with the pod`,
      );
    if (settings.kind === 'git' ? state.baseHead === null : !state.directoryBase)
      throw new TransferError(
        'back',
        'the adopted pod has no base snapshot of its workspace: nothing can be collected',
      );
    await input.log(`[claude-k8s] workspace: collecting the adopted pod's changes once claude ends\n`);
    const copied: CopiedIn = {
      baseHead: state.baseHead ?? '',
      baseBranch: typeof record?.branch === 'string' ? record.branch : null,
      bytesIn: 0,
      durationMs: 0,
    };
    await waitAndCollect(context, report, input.adoptedRunId, copied);
  } catch (error) {
    report.error = asTransferError(error);
  } finally {
    if (release && !context.detached()) await releaseContainer(context.exec, settings.controlDir);
  }
  return report;
}

/** The run's log lines of a report. */
export function describeTransfer(report: TransferReport, target: TransferTarget): string[] {
  const lines: string[] = [];
  if (report.skipped !== null) lines.push(`[claude-k8s] workspace: nothing to collect: ${report.skipped}`);
  if (report.error !== null)
    lines.push(
      `[claude-k8s] workspace transfer ${report.error.trip === 'in' ? 'in' : 'back'} failed: ${report.error.message}`,
    );
  const back = report.collected;
  if (back?.kind === 'directory') {
    lines.push(
      `[claude-k8s] workspace: the agent's changes came back (${back.bytesOut} bytes in ${seconds(back.durationMs)}): ${back.applied.length} file(s) applied`,
    );
    if (back.conflicts.length > 0)
      lines.push(
        `[claude-k8s] workspace conflict: changed on the server during the run, left as they are there: ${back.conflicts.join(', ')}${back.keptIn === null ? '' : `; the agent's versions are kept in ${target.hostDir}/${back.keptIn}`}`,
      );
    if (back.refused.length > 0)
      lines.push(`[claude-k8s] workspace: not applied (refused): ${back.refused.join('; ')}`);
  } else if (back !== null) {
    lines.push(
      `[claude-k8s] workspace: the agent's changes came back (${back.bytesOut} bytes in ${seconds(back.durationMs)}): ${back.commits} commit(s), ${back.applied.length} file(s) applied${back.headAfter === back.headBefore ? '' : `, HEAD now ${back.headAfter.slice(0, 12)}`}`,
    );
    if (back.commitConflict !== null) lines.push(`[claude-k8s] workspace conflict: ${back.commitConflict}`);
    if (back.conflicts.length > 0)
      lines.push(
        `[claude-k8s] workspace conflict: changed on the server during the run, left as they are there: ${back.conflicts.join(', ')}`,
      );
    if (back.refused.length > 0)
      lines.push(
        `[claude-k8s] workspace: refused, as they lead outside the workspace (nothing read or written there): ${back.refused.join(', ')}`,
      );
    if (back.keptRefs.length > 0)
      lines.push(
        `[claude-k8s] workspace: what could not be applied is kept in ${target.hostDir}'s git directory as ${back.keptRefs.join(', ')} (e.g. git diff ${back.keptRefs[2] ?? ''} ${back.keptRefs[1] ?? ''})`,
      );
  }
  return lines.map((line) => `${line}\n`);
}

/** `resultJson.workspace.transfer` of a report. */
function transferResultJson(report: TransferReport): Record<string, unknown> {
  const back = report.collected;
  return {
    bytesIn: report.copiedIn?.bytesIn ?? null,
    inMs: report.copiedIn?.durationMs ?? null,
    bytesOut: back?.bytesOut ?? null,
    backMs: back?.durationMs ?? null,
    claudeExitCode: report.claudeExit,
    ...(back === null
      ? {}
      : {
          kind: back.kind,
          applied: back.applied,
          conflicts: back.conflicts,
          refused: back.refused,
          ...(back.kind === 'directory'
            ? { keptIn: back.keptIn }
            : {
                headBefore: back.headBefore,
                headAfter: back.headAfter,
                agentHead: back.agentHead,
                commits: back.commits,
                commitConflict: back.commitConflict,
                keptRefs: back.keptRefs,
              }),
        }),
    ...(report.error === null ? {} : { error: { trip: report.error.trip, message: report.error.message } }),
    ...(report.skipped === null ? {} : { skipped: report.skipped }),
  };
}

/**
 * Folds a report into the run's result: `resultJson.workspace.transfer`, and for a failed transfer the error
 * `k8s_workspace_transfer` unless the run already failed for another reason (that reason stays; the transfer's is in
 * `resultJson.workspace.transfer.error` and the log).
 */
export function applyTransferToResult(result: AdapterExecutionResult, report: TransferReport): void {
  const resultJson = { ...(result.resultJson ?? {}) };
  const workspace =
    typeof resultJson['workspace'] === 'object' && resultJson['workspace'] !== null ? resultJson['workspace'] : {};
  resultJson['workspace'] = { ...workspace, transfer: transferResultJson(report) };
  if (report.error !== null && (result.errorCode == null || report.error.trip === 'in')) {
    result.errorCode = 'k8s_workspace_transfer';
    result.errorMessage = report.error.message;
    resultJson['errorCode'] = 'k8s_workspace_transfer';
    resultJson['errorHint'] = ERROR_CODES.k8s_workspace_transfer.hint;
  }
  result.resultJson = resultJson;
}
