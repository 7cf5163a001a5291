/**
 * Folds what Claude Code reported (a stream-json run summary) and what Kubernetes did (a kube-runtime outcome) into
 * Paperclip's `AdapterExecutionResult`. The more specific cause wins: an OOM-killed pod is `k8s_oom_killed`, not
 * "exit 137"; an `is_error` result is a Claude failure even with exit code 0.
 */
import type { AdapterBillingType, AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { claudeErrorCode, ERROR_CODES, reportedErrorCode, type ErrorCode } from './error-codes.ts';
import type { RunOutcomeLike, RunSummaryLike } from './ports.ts';
import { encodeSessionParams, type SessionMatchTarget } from './session-codec.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
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
  outcome: RunOutcomeLike;
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
}

/** The chosen failure of a run, or `null` for success. */
export interface RunFailureChoice {
  code: ErrorCode;
  message: string;
}

const BOOTSTRAP_OUTCOMES: Partial<Record<RunOutcomeLike['code'], ErrorCode>> = {
  'image-pull': 'k8s_image_pull',
  'config-error': 'k8s_config_error',
  unschedulable: 'k8s_unschedulable',
  'never-started': 'k8s_never_started',
  'lock-timeout': 'k8s_lock_timeout',
  'lock-conflict': 'k8s_lock_conflict',
};

function describeOutcome(outcome: RunOutcomeLike): string {
  const parts: string[] = [];
  if (outcome.reason) parts.push(outcome.reason);
  if (outcome.message) parts.push(outcome.message);
  if (outcome.exitCode !== undefined && outcome.exitCode !== null) parts.push(`exit code ${outcome.exitCode}`);
  if (outcome.signal) parts.push(`signal ${outcome.signal}`);
  const warnings = (outcome.events ?? [])
    .filter((event) => event.type === 'Warning' && (event.reason || event.message))
    .slice(-3);
  for (const event of warnings) parts.push(`event ${event.reason ?? ''}: ${event.message ?? ''}`.trim());
  const where = outcome.jobName ? ` (Job ${outcome.namespace ? `${outcome.namespace}/` : ''}${outcome.jobName})` : '';
  return `${parts.join('; ') || outcome.code}${where}`;
}

/** Chooses the failure of a run from both sides; `null` means the run succeeded. */
export function chooseRunFailure(
  summary: RunSummaryLike | null,
  outcome: RunOutcomeLike,
  aborted: boolean,
  timeoutSec: number,
): RunFailureChoice | null {
  if (aborted || outcome.code === 'cancelled') return { code: 'cancelled', message: outcome.message ?? 'cancelled' };
  const claudeFailure = summary?.failure ?? null;
  switch (outcome.code) {
    case 'deadline-exceeded':
      return { code: 'timeout', message: `Timed out after ${timeoutSec}s (${describeOutcome(outcome)})` };
    case 'image-pull':
    case 'config-error':
    case 'unschedulable':
    case 'never-started':
    case 'lock-timeout':
    case 'lock-conflict':
      return { code: BOOTSTRAP_OUTCOMES[outcome.code] ?? 'k8s_never_started', message: describeOutcome(outcome) };
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
  const failure = chooseRunFailure(summary, outcome, input.aborted, input.timeoutSec);
  const info = failure === null ? null : ERROR_CODES[failure.code];
  const result: AdapterExecutionResult = {
    exitCode: outcome.exitCode ?? (failure === null ? 0 : null),
    signal: outcome.signal ?? (failure?.code === 'cancelled' || failure?.code === 'timeout' ? 'SIGTERM' : null),
    timedOut: failure?.code === 'timeout',
    provider: 'anthropic',
    biller: input.billing.biller,
    billingType: input.billing.billingType,
  };
  const resultJson: Record<string, unknown> = {
    kubernetes: {
      outcome: outcome.code,
      reason: outcome.reason ?? null,
      message: outcome.message ?? null,
      exitCode: outcome.exitCode ?? null,
      signal: outcome.signal ?? null,
      jobName: outcome.jobName ?? input.jobName ?? null,
      namespace: outcome.namespace ?? input.namespace ?? null,
      podName: outcome.podName ?? null,
      events: (outcome.events ?? []).slice(-10),
    },
  };

  if (summary !== null) {
    result.usage = {
      inputTokens: summary.usage.inputTokens + summary.usage.cacheCreationInputTokens,
      outputTokens: summary.usage.outputTokens,
      cachedInputTokens: summary.usage.cacheReadInputTokens,
    };
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
    };
    if (summary.resultText !== null) resultJson['result'] = summary.resultText;
  }

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
        acknowledgedAt: outcome.cancelledAt ?? new Date(input.now).toISOString(),
        proof: `Job ${input.namespace ?? outcome.namespace ?? ''}/${input.jobName ?? outcome.jobName ?? ''} deleted and its container ended (${outcome.code})`,
      };
    }
  } else {
    resultJson['stopReason'] = 'completed';
  }

  const clear = info !== null && 'clearSession' in info && info.clearSession;
  const sessionId = summary?.sessionId ?? null;
  if (clear) {
    result.clearSession = true;
  } else if (sessionId !== null && UUID.test(sessionId) && summary?.hasResult === true) {
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
  if ('bootstrap' in info && info.bootstrap) {
    const recovery = { kind: 'bootstrap', providerWorkStarted: false } as const;
    result.executionRecovery = recovery;
    resultJson['executionRecovery'] = recovery;
  }
  result.resultJson = resultJson;
  return result;
}
