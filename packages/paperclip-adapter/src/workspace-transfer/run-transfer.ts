/**
 * One run's transfer, beside the run: once the container started, copy the workspace in (claude waits for it), wait
 * for claude's end (success, failure, timeout or cancel alike: the entry reports it and stays up), collect and apply the
 * changes, release the container. {@link startRunTransfer} never rejects: its report says what happened, and
 * {@link transferResultFields} turns it into the run's log lines, `resultJson.workspace.transfer` and, when the
 * transfer failed, the run's error (`k8s_workspace_transfer`).
 */
import type { PodExecInput, PodExecResult } from '@claude-k8s/kube-runtime';
import type { AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { ERROR_CODES } from '../error-codes.ts';
import type { TransferTarget } from '../invocation/workspace.ts';
import {
  collect,
  copyIn,
  releaseContainer,
  TransferError,
  waitForClaudeExit,
  type Collected,
  type CopiedIn,
  type PodExec,
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

/** Starts the transfer of a started run; the promise settles once the changes are back (or could not be). */
export async function startRunTransfer(input: RunTransferInput): Promise<TransferReport> {
  const report: TransferReport = { copiedIn: null, collected: null, claudeExit: null, error: null, skipped: null };
  const podName = await input.handle.containerStarted.catch(() => null);
  if (podName === null) {
    report.skipped = 'the container never started';
    return report;
  }
  const exec: PodExec = (command, options = {}) =>
    input.exec({ podName, containerName: input.handle.containerName, command, ...options });
  const settings = {
    hostDir: input.target.hostDir,
    podDir: input.target.podDir,
    controlDir: input.target.controlDir,
    maxInBytes: input.limits.maxInMiB * MIB,
    maxOutBytes: input.limits.maxOutMiB * MIB,
    execTimeoutMs: 600_000,
  };
  const ended = input.handle.outcome.then(
    () => undefined,
    () => undefined,
  );
  try {
    report.copiedIn = await copyIn({ settings, exec, runId: input.runId });
    await input.log(
      `[claude-k8s] workspace: ${input.target.hostDir} copied into the pod (${report.copiedIn.bytesIn} bytes in ${seconds(report.copiedIn.durationMs)}); claude starts\n`,
    );
    report.claudeExit = await waitForClaudeExit({ exec, controlDir: settings.controlDir, stop: ended });
    if (report.claudeExit === null)
      throw new TransferError('back', 'the container ended before the changes could be collected (they are lost)');
    report.collected = await collect({ settings, exec, runId: input.runId, copied: report.copiedIn });
  } catch (error) {
    report.error =
      error instanceof TransferError
        ? error
        : new TransferError('back', error instanceof Error ? error.message : String(error), { cause: error });
  } finally {
    if (report.copiedIn !== null) await releaseContainer(exec, settings.controlDir);
  }
  return report;
}

/** The run's log lines of a report. */
export function describeTransfer(report: TransferReport, target: TransferTarget): string[] {
  const lines: string[] = [];
  if (report.error !== null)
    lines.push(
      `[claude-k8s] workspace transfer ${report.error.trip === 'in' ? 'in' : 'back'} failed: ${report.error.message}`,
    );
  const back = report.collected;
  if (back !== null) {
    lines.push(
      `[claude-k8s] workspace: the agent's changes came back (${back.bytesOut} bytes in ${seconds(back.durationMs)}): ${back.commits} commit(s), ${back.applied.length} file(s) applied${back.headAfter === back.headBefore ? '' : `, HEAD now ${back.headAfter.slice(0, 12)}`}`,
    );
    if (back.commitConflict !== null) lines.push(`[claude-k8s] workspace conflict: ${back.commitConflict}`);
    if (back.conflicts.length > 0)
      lines.push(
        `[claude-k8s] workspace conflict: changed on the server during the run, left as they are there: ${back.conflicts.join(', ')}`,
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
          headBefore: back.headBefore,
          headAfter: back.headAfter,
          agentHead: back.agentHead,
          commits: back.commits,
          applied: back.applied,
          conflicts: back.conflicts,
          commitConflict: back.commitConflict,
          keptRefs: back.keptRefs,
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
