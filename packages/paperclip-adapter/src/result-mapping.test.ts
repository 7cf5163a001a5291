import type { RunOutcome } from '@claude-k8s/kube-runtime';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, reportedErrorCode } from './error-codes.ts';
import { mapEarlyFailure, mapRunResult, type MapRunResultInput } from './result-mapping.ts';
import type { RunSummaryLike } from './ports.ts';
import { createRunOutcome } from '../test/fakes.ts';

const SESSION = 'ef4396a5-b2f7-468b-9c86-9d272562d804';
const NOW = Date.parse('2026-11-24T15:00:00.000Z');
const volume = { namespace: 'agents', claimName: 'claude-sessions', mountPath: '/home/agent' };

function summary(overrides: Partial<RunSummaryLike> = {}): RunSummaryLike {
  return {
    sessionId: SESSION,
    model: 'claude-opus-5',
    hasResult: true,
    isError: false,
    resultSubtype: 'success',
    resultText: 'Done.',
    summary: 'Done.',
    errors: [],
    usage: { inputTokens: 1200, outputTokens: 80, cacheCreationInputTokens: 50, cacheReadInputTokens: 3000 },
    costUsd: 0.0421,
    numTurns: 3,
    failure: null,
    ...overrides,
  };
}

function failed(code: string, message = `${code} happened`): Partial<RunSummaryLike> {
  return { isError: true, failure: { code, hint: 'h', message } };
}

const outcome = createRunOutcome;

function map(partial: { summary?: RunSummaryLike | null; outcome?: Partial<RunOutcome>; aborted?: boolean }) {
  const input: MapRunResultInput = {
    summary: partial.summary === undefined ? summary() : partial.summary,
    outcome: outcome(partial.outcome),
    aborted: partial.aborted ?? false,
    sessionTarget: {
      cwd: '/home/agent/workspaces/a1',
      promptBundleKey: 'b',
      mcpServerIdentity: null,
      sessionVolume: volume,
    },
    sessionExtras: { image: 'img:1' },
    billing: { biller: 'anthropic', billingType: 'metered_api' },
    now: NOW,
    timeoutSec: 600,
    jobName: 'job-1',
    namespace: 'agents',
  };
  return mapRunResult(input);
}

describe('mapRunResult: success', () => {
  it('reports usage per run (input = input + cache creation, cached = cache read), cost, model, session', () => {
    const result = map({});
    expect(result).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      usage: { inputTokens: 1250, outputTokens: 80, cachedInputTokens: 3000 },
      usageBasis: 'per_run',
      costUsd: 0.0421,
      model: 'claude-opus-5',
      provider: 'anthropic',
      biller: 'anthropic',
      billingType: 'metered_api',
      summary: 'Done.',
      sessionId: SESSION,
      sessionDisplayId: SESSION,
      sessionParams: {
        v: 1,
        sessionId: SESSION,
        cwd: '/home/agent/workspaces/a1',
        promptBundleKey: 'b',
        mcpServerIdentity: null,
        sessionVolume: volume,
        image: 'img:1',
      },
    });
    expect(result.errorCode).toBeUndefined();
    expect(result.clearSession).toBeUndefined();
    expect(result.resultJson).toMatchObject({
      stopReason: 'completed',
      result: 'Done.',
      kubernetes: { outcome: 'succeeded', jobName: 'job-1' },
    });
  });
});

describe('mapRunResult: Claude-side failures', () => {
  it.each([
    ['authentication', 'claude_auth_required', undefined, false],
    ['rate-limited', 'claude_rate_limited', 'provider_quota', false],
    ['overloaded', 'claude_overloaded', 'transient_upstream', false],
    ['transient-upstream', 'claude_transient_upstream', 'transient_upstream', false],
    ['max-turns', 'claude_max_turns', undefined, true],
    ['budget-exhausted', 'claude_budget_exhausted', undefined, false],
    ['aborted', 'claude_aborted', undefined, false],
    ['context-too-long', 'claude_context_too_long', undefined, true],
    ['refusal', 'claude_refusal', 'model_refusal', false],
    ['unknown-session', 'claude_unknown_session', undefined, true],
    ['model-not-found', 'claude_model_not_found', undefined, false],
    ['api-error', 'claude_api_error', undefined, false],
    ['argument-error', 'claude_argument_error', undefined, false],
    ['execution-error', 'claude_execution_error', undefined, false],
    ['something-new', 'claude_error', undefined, false],
  ])('%s → %s', (failureCode, errorCode, family, clear) => {
    const result = map({ summary: summary(failed(failureCode)), outcome: { code: 'exit-code', exitCode: 1 } });
    expect(result.errorCode).toBe(reportedErrorCode(errorCode as keyof typeof ERROR_CODES));
    expect(result.resultJson?.['claudeK8s']).toEqual({ failureClass: errorCode });
    expect(result.errorMessage).toBe(`${failureCode} happened`);
    expect(result.exitCode).toBe(1);
    expect(result.errorFamily).toBe(family);
    expect(result.resultJson?.['errorFamily']).toBe(family);
    if (family !== undefined) expect(result.retryNotBefore).toBe('2026-11-24T15:00:30.000Z');
    expect(result.resultJson?.['errorHint']).toBe(ERROR_CODES[errorCode as keyof typeof ERROR_CODES].hint);
    expect(result.clearSession === true).toBe(clear);
    expect(result.sessionParams === undefined).toBe(clear);
    expect(result.executionRecovery).toBeUndefined();
  });

  it.each([
    ['max-turns', 'max_turns_exhausted', 'claude_max_turns'],
    ['model-not-found', 'model_not_found', 'claude_model_not_found'],
    ['overloaded', 'claude_overloaded', 'claude_overloaded'],
  ])('%s reports the code Paperclip acts on (%s), ours in resultJson.claudeK8s', (failureCode, reported, ours) => {
    const result = map({ summary: summary(failed(failureCode)), outcome: { code: 'exit-code', exitCode: 1 } });
    expect(result.errorCode).toBe(reported);
    expect(result.resultJson).toMatchObject({
      errorCode: reported,
      stopReason: reported,
      claudeK8s: { failureClass: ours },
    });
  });

  it('an is_error result is a failure even with exit code 0', () => {
    const result = map({ summary: summary(failed('overloaded')), outcome: { code: 'succeeded', exitCode: 0 } });
    expect(result).toMatchObject({ exitCode: 0, errorCode: 'claude_overloaded' });
  });

  it('output without a result line is a truncated stream even when the pod succeeded', () => {
    expect(map({ summary: summary({ hasResult: false, failure: null }) }).errorCode).toBe('claude_truncated_stream');
  });

  it('takes retryNotBefore from a "resets at" time in the message', () => {
    const result = map({
      summary: summary(failed('rate-limited', 'Usage limit reached; resets at 2026-11-24T18:00:00Z')),
      outcome: { code: 'exit-code', exitCode: 1 },
    });
    expect(result.retryNotBefore).toBe('2026-11-24T18:00:00.000Z');
  });
});

describe('mapRunResult: Kubernetes-side failures', () => {
  it.each([
    ['image-pull', 'k8s_image_pull'],
    ['config-error', 'k8s_config_error'],
    ['unschedulable', 'k8s_unschedulable'],
    ['never-started', 'k8s_never_started'],
    // lock-timeout / lock-conflict are not outcomes: kube-runtime refuses the start (LockHeldError); execute.test.ts
  ] as const)('%s → %s, safe to retry (bootstrap recovery)', (code, errorCode) => {
    const result = map({
      summary: null,
      outcome: {
        code,
        exitCode: null,
        reason: 'Reason',
        message: 'what happened',
        events: [
          { type: 'Warning', reason: 'FailedMount', message: 'secret "x" not found', count: 1, involvedKind: 'Pod' },
        ],
      },
    });
    expect(result.errorCode).toBe(errorCode);
    expect(result.errorMessage).toBe('Reason; what happened; event FailedMount: secret "x" not found');
    expect(result.executionRecovery).toEqual({ kind: 'bootstrap', providerWorkStarted: false });
    expect(result.resultJson?.['executionRecovery']).toEqual({ kind: 'bootstrap', providerWorkStarted: false });
    expect(result.exitCode).toBeNull();
    expect(result.usage).toBeUndefined();
  });

  it('OOM wins over the exit code 137 and the truncated stream', () => {
    const result = map({
      summary: summary({ hasResult: false, ...failed('truncated-stream') }),
      outcome: { code: 'oom-killed', exitCode: 137, reason: 'OOMKilled' },
    });
    expect(result).toMatchObject({ errorCode: 'k8s_oom_killed', exitCode: 137 });
    expect(result.errorMessage).toMatch(/^OOM-killed: OOMKilled; exit code 137/);
    expect(result.executionRecovery).toBeUndefined();
  });

  it('OOM after a successful result is still a failure', () => {
    expect(map({ outcome: { code: 'oom-killed', exitCode: 137 } }).errorCode).toBe('k8s_oom_killed');
  });

  it('eviction is transient', () => {
    expect(
      map({
        summary: summary({ hasResult: false, ...failed('truncated-stream') }),
        outcome: { code: 'evicted', reason: 'Evicted' },
      }),
    ).toMatchObject({ errorCode: 'k8s_evicted', errorFamily: 'transient_upstream' });
  });

  it('deleted externally', () => {
    expect(map({ summary: null, outcome: { code: 'deleted-externally', exitCode: null } }).errorCode).toBe(
      'k8s_deleted_externally',
    );
  });

  it('a bare non-zero exit without a better Claude reason is k8s_exit_code', () => {
    expect(
      map({
        summary: summary({ hasResult: false, ...failed('truncated-stream', 'no result') }),
        outcome: { code: 'exit-code', exitCode: 139 },
      }),
    ).toMatchObject({
      errorCode: 'k8s_exit_code',
      errorMessage: 'claude exited abnormally: exit code 139; no result',
    });
    expect(map({ outcome: { code: 'exit-code', exitCode: 2 } }).errorCode).toBe('k8s_exit_code');
  });

  it('deadline exceeded is a timeout', () => {
    const result = map({
      summary: summary({ hasResult: false, ...failed('truncated-stream') }),
      outcome: { code: 'deadline-exceeded', exitCode: 143, reason: 'DeadlineExceeded' },
    });
    expect(result).toMatchObject({ timedOut: true, errorCode: 'timeout', exitCode: 143, signal: 'SIGTERM' });
    expect(result.errorMessage).toMatch(/^Timed out after 600s/);
  });
});

describe('mapRunResult: cancellation', () => {
  it('acknowledges a cancelled outcome with proof', () => {
    const result = map({
      summary: summary({ hasResult: false, ...failed('aborted') }),
      outcome: {
        code: 'cancelled',
        exitCode: null,
        cancelledAt: '2026-11-24T15:00:04.000Z',
        endedAt: '2026-11-24T15:00:05.000Z',
      },
      aborted: true,
    });
    expect(result).toMatchObject({
      errorCode: 'cancelled',
      errorMessage: 'cancelled',
      signal: 'SIGTERM',
      exitCode: null,
      timedOut: false,
    });
    expect(result.resultJson?.['executionCancellation']).toEqual({
      state: 'acknowledged',
      acknowledgedAt: '2026-11-24T15:00:05.000Z',
      proof: 'Job agents/job-1 deleted and its container ended (cancelled)',
    });
  });

  it('an abort wins over whatever the outcome says', () => {
    expect(map({ outcome: { code: 'succeeded', exitCode: 0 }, aborted: true }).errorCode).toBe('cancelled');
  });
});

describe('mapEarlyFailure', () => {
  it('marks failures before any Job as safe to retry only when retrying can help', () => {
    const billing = { biller: 'anthropic', billingType: 'metered_api' as const };
    expect(mapEarlyFailure('k8s_api_error', 'create job: 403', billing).executionRecovery).toEqual({
      kind: 'bootstrap',
      providerWorkStarted: false,
    });
    const invalid = mapEarlyFailure('adapter_config_invalid', 'image: required', billing);
    expect(invalid).toMatchObject({
      exitCode: null,
      signal: null,
      timedOut: false,
      errorCode: 'adapter_config_invalid',
      errorMessage: 'image: required',
    });
    expect(invalid.executionRecovery).toBeUndefined();
  });
});
