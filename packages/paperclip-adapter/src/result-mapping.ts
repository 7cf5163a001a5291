/**
 * Folds what Claude Code reported (a stream-json run summary) and what Kubernetes did (a kube-runtime outcome) into
 * Paperclip's `AdapterExecutionResult`. The more specific cause wins: an OOM-killed pod is `k8s_oom_killed`, not
 * "exit 137"; an `is_error` result is a Claude failure even with exit code 0.
 */
import type { OutcomeCode, RunOutcome } from '@claude-k8s/kube-runtime';
import type { AdapterBillingType, AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { applyBudgetStop, describeBudgetStop, type BudgetStop } from './budget/budget-guard.ts';
import { claudeErrorCode, ERROR_CODES, reportedErrorCode, type ErrorCode } from './error-codes.ts';
import type { RunSummaryLike } from './ports.ts';
import { encodeSessionParams, isSessionId, type SessionMatchTarget } from './session-codec.ts';
import { toPaperclipUsage } from './paperclip-usage.ts';

const TRANSIENT_RETRY_DELAY_MS = 30_000;

/** Who bills the tokens, as Paperclip records it. */
export interface BillingInfo {
  biller: string;
  billingType: AdapterBillingType;
}

/** Inputs of {@link mapRunResult}. */
export interface MapRunResultInput {
  /** The stream-json summary of the container's stdout; `null` when the container never produced output. */
  summary: RunSummaryLike | null;
  /** kube-runtime's outcome of the attempt. */
  outcome: RunOutcome;
  /** True when `ctx.signal` fired (operator cancel, lost controller lease). */
  aborted: boolean;
  /** What the session of this run is stored with (cwd, volume, bundle, MCP identity). */
  sessionTarget: SessionMatchTarget;
  /** Extra facts stored with the session. */
  sessionExtras?: { workspaceId?: string; repoUrl?: string; repoRef?: string; image?: string };
  billing: BillingInfo;
  /** Current time, milliseconds since the epoch (the clock port). */
  now: number;
  /** The configured timeout, for the message. Seconds. */
  timeoutSec: number;
  jobName?: string | null;
  namespace?: string | null;
  /** Set when a budget stopped the run: the result is `budget_exceeded` with the session kept. */
  budgetStop?: BudgetStop | null;
  /**
   * Set when the adapter deleted the Job because claude kept running `resultGraceSec` after its final result: the run
   * ends with that result (the `cancelled` outcome is the adapter's own stop, not a failure).
   */
  stoppedAfterResult?: { graceSec: number } | null;
}

/** Paperclip's evidence of a process stopped after its result (the shape claude_local reports, read by the server). */
const UNMANAGED_BACKGROUND_TASK = {
  kind: 'terminal_result_cleanup',
  stopped: true,
  stopReason: 'unmanaged_background_task_stopped',
  reason: 'unmanaged background task stopped; no durable live path',
  terminalResultSeen: true,
  signal: 'SIGTERM',
} as const;

/** The chosen failure of a run, or `null` for success. */
export interface RunFailureChoice {
  code: ErrorCode;
  message: string;
}

/** Outcomes of a run whose container never did any work (safe to retry). */
const BOOTSTRAP_OUTCOMES = {
  'image-pull': 'k8s_image_pull',
  'config-error': 'k8s_config_error',
  unschedulable: 'k8s_unschedulable',
  'never-started': 'k8s_never_started',
} as const satisfies Partial<Record<OutcomeCode, ErrorCode>>;

function describeOutcome(outcome: RunOutcome): string {
  const parts: string[] = [];
  if (outcome.reason) parts.push(outcome.reason);
  if (outcome.message) parts.push(outcome.message);
  if (outcome.exitCode !== null) parts.push(`exit code ${outcome.exitCode}`);
  const warnings = outcome.events
    .filter((event) => event.type === 'Warning' && (event.reason || event.message))
    .slice(-3);
  for (const event of warnings) parts.push(`event ${event.reason ?? ''}: ${event.message ?? ''}`.trim());
  const where = outcome.jobName ? ` (Job ${outcome.namespace ? `${outcome.namespace}/` : ''}${outcome.jobName})` : '';
  return `${parts.join('; ') || outcome.code}${where}`;
}

/** Chooses the failure of a run from both sides; `null` means the run succeeded. */
function chooseRunFailure(
  summary: RunSummaryLike | null,
  outcome: RunOutcome,
  aborted: boolean,
  timeoutSec: number,
  stoppedAfterResult: boolean,
): RunFailureChoice | null {
  const claudeFailure = summary?.failure ?? null;
  // The adapter's own stop after the result: the result decides (claude_local's terminal-result cleanup).
  const code = stoppedAfterResult && !aborted && outcome.code === 'cancelled' ? 'succeeded' : outcome.code;
  if (aborted || code === 'cancelled') return { code: 'cancelled', message: outcome.message || 'cancelled' };
  switch (code) {
    case 'deadline-exceeded':
      return { code: 'timeout', message: `Timed out after ${timeoutSec}s (${describeOutcome(outcome)})` };
    case 'image-pull':
    case 'config-error':
    case 'unschedulable':
    case 'never-started':
      return { code: BOOTSTRAP_OUTCOMES[code], message: describeOutcome(outcome) };
    case 'oom-killed':
      return { code: 'k8s_oom_killed', message: `OOM-killed: ${describeOutcome(outcome)}` };
    case 'evicted':
      return { code: 'k8s_evicted', message: `evicted: ${describeOutcome(outcome)}` };
    case 'deleted-externally':
      return { code: 'k8s_deleted_externally', message: `deleted by someone else: ${describeOutcome(outcome)}` };
    case 'exit-code':
      if (claudeFailure !== null && claudeFailure.code !== 'truncated-stream' && claudeFailure.code !== 'unknown') {
        return { code: claudeErrorCode(claudeFailure.code), message: claudeFailure.message };
      }
      return {
        code: 'k8s_exit_code',
        message: `claude exited abnormally: ${describeOutcome(outcome)}${claudeFailure === null ? '' : `; ${claudeFailure.message}`}`,
      };
    case 'succeeded':
      if (claudeFailure !== null) return { code: claudeErrorCode(claudeFailure.code), message: claudeFailure.message };
      if (summary !== null && !summary.hasResult)
        return { code: 'claude_truncated_stream', message: 'the output ended without a result line' };
      return null;
  }
}

function retryNotBefore(message: string, now: number): string {
  const match = /resets? (?:at|on)\s+([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+))/i.exec(message);
  if (match?.[1] !== undefined) {
    const time = Date.parse(match[1]);
    if (Number.isFinite(time) && time > now) return new Date(time).toISOString();
  }
  return new Date(now + TRANSIENT_RETRY_DELAY_MS).toISOString();
}

/** Maps a finished attempt to Paperclip's result. */
export function mapRunResult(input: MapRunResultInput): AdapterExecutionResult {
  const { summary, outcome } = input;
  const budgetStop = input.budgetStop ?? null;
  const stopped =
    input.stoppedAfterResult != null && !input.aborted && outcome.code === 'cancelled'
      ? input.stoppedAfterResult
      : null;
  const failure: RunFailureChoice | null =
    budgetStop !== null
      ? { code: 'budget_exceeded', message: describeBudgetStop(budgetStop) }
      : chooseRunFailure(summary, outcome, input.aborted, input.timeoutSec, stopped !== null);
  const info = failure === null ? null : ERROR_CODES[failure.code];
  const result: AdapterExecutionResult = {
    exitCode: stopped !== null && failure === null ? 0 : (outcome.exitCode ?? (failure === null ? 0 : null)),
    signal: failure?.code === 'cancelled' || failure?.code === 'timeout' ? 'SIGTERM' : null,
    timedOut: failure?.code === 'timeout',
    provider: 'anthropic',
    biller: input.billing.biller,
    billingType: input.billing.billingType,
  };
  const resultJson: Record<string, unknown> = {
    kubernetes: {
      outcome: outcome.code,
      reason: outcome.reason,
      message: outcome.message,
      exitCode: outcome.exitCode,
      jobName: outcome.jobName || (input.jobName ?? null),
      namespace: outcome.namespace || (input.namespace ?? null),
      podName: outcome.podName,
      endedAt: outcome.endedAt,
      cancelledAt: outcome.cancelledAt,
      output:
        outcome.output === null
          ? null
          : {
              complete: outcome.output.complete,
              gaps: outcome.output.gaps,
              bytes: outcome.output.checkpoint.deliveredBytes,
            },
      events: outcome.events.slice(-10),
    },
  };

  if (summary !== null) {
    result.usage = toPaperclipUsage(summary.usage);
    result.usageBasis = 'per_run';
    result.costUsd = summary.costUsd;
    result.model = summary.model;
    result.summary = summary.summary;
    resultJson['claude'] = {
      sessionId: summary.sessionId,
      model: summary.model,
      hasResult: summary.hasResult,
      isError: summary.isError,
      subtype: summary.resultSubtype ?? null,
      numTurns: summary.numTurns,
      stopReason: summary.stopReason ?? null,
      terminalReason: summary.terminalReason ?? null,
      errors: summary.errors ?? [],
      permissionDenials: summary.permissionDenials?.length ?? 0,
      failure: summary.failure,
      droppedLines: droppedLines(summary),
    };
    if (summary.resultText !== null) resultJson['result'] = summary.resultText;
  }
  if (budgetStop !== null) applyBudgetStop(result, resultJson, budgetStop);
  if (stopped !== null)
    resultJson['unmanagedBackgroundTask'] = { ...UNMANAGED_BACKGROUND_TASK, graceMs: stopped.graceSec * 1000 };

  if (failure !== null && info !== null) {
    const reported = reportedErrorCode(failure.code);
    result.errorCode = reported;
    result.errorMessage = failure.message;
    resultJson['errorCode'] = reported;
    resultJson['errorHint'] = info.hint;
    resultJson['stopReason'] = reported;
    resultJson['claudeK8s'] = { failureClass: failure.code };
    const family = 'family' in info ? info.family : undefined;
    if (family !== undefined) {
      const notBefore = retryNotBefore(failure.message, input.now);
      result.errorFamily = family;
      result.retryNotBefore = notBefore;
      resultJson['errorFamily'] = family;
      resultJson['retryNotBefore'] = notBefore;
    }
    if ('bootstrap' in info && info.bootstrap) {
      const recovery = { kind: 'bootstrap', providerWorkStarted: false } as const;
      result.executionRecovery = recovery;
      resultJson['executionRecovery'] = recovery;
    }
    if (failure.code === 'cancelled') {
      result.errorMessage = 'cancelled';
      resultJson['executionCancellation'] = {
        state: 'acknowledged',
        // The outcome is decided once the Job (Foreground: after its pod) is gone: that is the confirmation.
        acknowledgedAt: outcome.code === 'cancelled' ? outcome.endedAt : new Date(input.now).toISOString(),
        proof: `Job ${input.namespace || outcome.namespace}/${input.jobName || outcome.jobName} deleted and its container ended (${outcome.code})`,
      };
    }
  } else {
    resultJson['stopReason'] = 'completed';
  }

  const clear = info !== null && 'clearSession' in info && info.clearSession;
  const sessionId = summary?.sessionId ?? null;
  if (clear) {
    result.clearSession = true;
  } else if (sessionId !== null && isSessionId(sessionId) && (summary?.hasResult === true || budgetStop !== null)) {
    const params = encodeSessionParams({
      sessionId,
      cwd: input.sessionTarget.cwd,
      promptBundleKey: input.sessionTarget.promptBundleKey,
      mcpServerIdentity: input.sessionTarget.mcpServerIdentity,
      sessionVolume: input.sessionTarget.sessionVolume,
      ...input.sessionExtras,
    });
    result.sessionId = sessionId;
    result.sessionParams = params;
    result.sessionDisplayId = sessionId;
  }
  result.resultJson = resultJson;
  return result;
}

/** A result for a run that failed before any Job was created (invalid config, unreadable host files, API errors). */
export function mapEarlyFailure(
  code: ErrorCode,
  message: string,
  billing: BillingInfo,
  extra: Record<string, unknown> = {},
  /** The run's Job was created (its container may have worked): never claim that provider work did not start. */
  jobCreated = false,
): AdapterExecutionResult {
  const info = ERROR_CODES[code];
  const result: AdapterExecutionResult = {
    exitCode: null,
    signal: null,
    timedOut: false,
    errorCode: code,
    errorMessage: message,
    provider: 'anthropic',
    biller: billing.biller,
    billingType: billing.billingType,
  };
  const resultJson: Record<string, unknown> = { errorCode: code, errorHint: info.hint, stopReason: code, ...extra };
  if ('bootstrap' in info && info.bootstrap && !jobCreated) {
    const recovery = { kind: 'bootstrap', providerWorkStarted: false } as const;
    result.executionRecovery = recovery;
    resultJson['executionRecovery'] = recovery;
  }
  result.resultJson = resultJson;
  return result;
}

/**
 * Output lines longer than the stream parser's limit, dropped unread (the run's log says so too): line number and
 * length in characters.
 */
export function droppedLines(summary: RunSummaryLike): { lineNumber: number; length: number }[] {
  return (summary.parseErrors ?? []).flatMap((error) =>
    error.reason === 'too-long' ? [{ lineNumber: error.lineNumber, length: error.droppedLength ?? 0 }] : [],
  );
}
