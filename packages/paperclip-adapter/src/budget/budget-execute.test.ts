// The budget through `execute` with the in-memory launcher: a crossing cancels the attempt and ends it as
// `budget_exceeded` with the session kept; a run under its limits is untouched.
import { describe, expect, it } from 'vitest';
import { createFakeContext, createScriptedAdapter, loadTranscript } from '../../test/fakes.ts';
import type { RunSummaryLike } from '../ports.ts';
import { buildBudgetCliArgs, createBudgetGuard, resolveBudget } from './budget-guard.ts';

const SESSION = '7b3c7d2e-5f7a-4b1e-9c3d-2a1b0c9d8e7f';
/** Output tokens the meter estimates per message: `{"command":"true"}` is 18 characters, at 3.5 per token. */
const OUTPUT_PER_MESSAGE = Math.ceil(18 / 3.5);
/** Dollars per message of {@link expensiveStream}: 100,000 input at $3/MTok + the estimated output at $15/MTok. */
const PER_MESSAGE = 0.3 + OUTPUT_PER_MESSAGE * 15e-6;

/** A run that would spend far past its limit: `count` messages of 100,000 input tokens each on Sonnet ($0.30 each). */
function expensiveStream(count: number): string {
  const lines = [
    JSON.stringify({ type: 'system', subtype: 'init', session_id: SESSION, model: 'claude-sonnet-4-5' }),
    ...Array.from({ length: count }, (_, index) =>
      JSON.stringify({
        type: 'assistant',
        session_id: SESSION,
        parent_tool_use_id: null,
        message: {
          id: `msg_${index + 1}`,
          model: 'claude-sonnet-4-5',
          content: [{ type: 'tool_use', id: `toolu_${index + 1}`, name: 'Bash', input: { command: 'true' } }],
          usage: { input_tokens: 100_000, output_tokens: 1, cache_read_input_tokens: 0 },
        },
      }),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function stderrOf(records: ReturnType<typeof createFakeContext>['records']): string[] {
  return records.flatMap((record) => (record.kind === 'log' && record.stream === 'stderr' ? [record.chunk] : []));
}

describe('execute with a budget', () => {
  it('cancels the attempt on the crossing and reports budget_exceeded with the limit, the true spend and the meter', async () => {
    // No result line: the pod was stopped (SIGTERM), as the real cancel path does.
    const { adapter, launcher } = createScriptedAdapter([{ stdout: expensiveStream(6), hang: true }]);
    const context = createFakeContext({ configOverrides: { budget: { usdPerRun: 1 } } });
    const result = await adapter.execute(context);

    expect(launcher.cancelled).toEqual(['budget exceeded: $1.20 of $1.00 per run']);
    expect(result.errorCode).toBe('budget_exceeded');
    expect(result.errorMessage).toMatch(/^budget exceeded: \$1\.20 of \$1\.00 per run \(the adapter stopped the pod\)/);
    const budget = (result.resultJson as { budget: Record<string, unknown> }).budget;
    expect(budget).toMatchObject({
      meter: 'usd',
      stoppedBy: 'live-meter',
      limit: 1,
      unit: 'usd',
      outputTokensEstimated: true,
    });
    expect(budget['spentAtStop']).toBeCloseTo(4 * PER_MESSAGE, 9);
    // Everything the pod printed counts, also past the crossing (the fake delivers all six messages).
    const spent = budget['spent'] as { inputTokens: number; turns: number; costUsd: number };
    expect(spent).toMatchObject({ inputTokens: 600_000, turns: 6 });
    expect(spent.costUsd).toBeCloseTo(6 * PER_MESSAGE, 9);
    expect(result.costUsd).toBeCloseTo(6 * PER_MESSAGE, 9);
    expect(result.usage).toEqual({ inputTokens: 600_000, outputTokens: 6 * OUTPUT_PER_MESSAGE, cachedInputTokens: 0 });
    // The session is kept so the next run resumes it.
    expect(result.clearSession).toBeUndefined();
    expect(result.sessionId).toBe(SESSION);
    expect(result.sessionParams).toMatchObject({ sessionId: SESSION });
    // Progress lines at each quarter, then the stop.
    expect(stderrOf(context.records)).toEqual([
      '[claude-k8s] budget: $0.3001 of $1.00 per run (25%)\n',
      '[claude-k8s] budget: $0.6002 of $1.00 per run (50%)\n',
      '[claude-k8s] budget: $0.9003 of $1.00 per run (75%)\n',
      expect.stringMatching(/^\[claude-k8s\] budget exceeded: \$1\.20 of \$1\.00 per run; stopping the pod/),
    ]);
    // Fresh session with an API key: the CLI's own limit is on the command line too.
    expect(launcher.requests[0]!.command.join(' ')).toContain('--max-budget-usd 1');
  });

  it('stops a subscription run on tokens; its dollar limit is not enforced (and not passed to the CLI)', async () => {
    const { adapter, launcher } = createScriptedAdapter([{ stdout: expensiveStream(6), hang: true }]);
    const context = createFakeContext({
      configOverrides: {
        anthropicApiKeySecret: {},
        env: { CLAUDE_CODE_OAUTH_TOKEN: 'oauth-token' },
        budget: { usdPerRun: 0.01, tokensPerRun: 250_000 },
      },
    });
    const result = await adapter.execute(context);
    expect(result.billingType).toBe('subscription_included');
    expect(launcher.cancelled).toEqual([
      `budget exceeded: ${(3 * (100_000 + OUTPUT_PER_MESSAGE)).toLocaleString('en-US')} tokens of 250,000 tokens per run`,
    ]);
    expect(result.errorCode).toBe('budget_exceeded');
    expect((result.resultJson as { budget: unknown }).budget).toMatchObject({
      meter: 'tokens',
      limit: 250_000,
      spentAtStop: 3 * (100_000 + OUTPUT_PER_MESSAGE),
    });
    expect(launcher.requests[0]!.command).not.toContain('--max-budget-usd');
    const notices = context.records.filter((record) => record.kind === 'event').map((record) => JSON.stringify(record));
    expect(notices.join('\n')).toContain('budget.usdPerRun ($0.01) is not enforced');
  });

  it('leaves a run under its limits untouched: same result as without a budget, nothing cancelled', async () => {
    const plain = createScriptedAdapter([{ transcript: 'a_plain_text' }]);
    const withoutBudget = await plain.adapter.execute(createFakeContext());
    const capped = createScriptedAdapter([{ transcript: 'a_plain_text' }]);
    const context = createFakeContext({ configOverrides: { budget: { usdPerRun: 5, tokensPerRun: 1_000_000 } } });
    const withBudget = await capped.adapter.execute(context);
    expect(capped.launcher.cancelled).toEqual([]);
    expect(withBudget).toEqual(withoutBudget);
    expect(withBudget.errorCode).toBeUndefined();
    expect(stderrOf(context.records)).toEqual([]);
  });

  it('does not stop a run whose successful result came with the crossing (the work was done)', async () => {
    const stdout = loadTranscript('a_plain_text').stdout;
    const { adapter, launcher } = createScriptedAdapter([{ stdout }]);
    const result = await adapter.execute(createFakeContext({ configOverrides: { budget: { tokensPerRun: 10 } } }));
    expect(launcher.cancelled).toHaveLength(1);
    expect(result.errorCode).toBeUndefined();
  });
});

describe('the CLI-side depth', () => {
  const apiKey = { anthropicApiKeySecret: { name: 'key', key: 'k' }, env: {} };
  it('passes --max-budget-usd only for a fresh session billed through an API key', () => {
    expect(buildBudgetCliArgs({ ...apiKey, budget: { usdPerRun: 0.5 } }, false)).toEqual(['--max-budget-usd', '0.5']);
    expect(buildBudgetCliArgs({ ...apiKey, budget: { usdPerRun: 0.5 } }, true)).toEqual([]);
    expect(buildBudgetCliArgs({ ...apiKey, budget: { usdPerRun: 0 } }, false)).toEqual([]);
    expect(
      buildBudgetCliArgs(
        {
          anthropicApiKeySecret: { key: 'k' },
          env: { CLAUDE_CODE_OAUTH_TOKEN: { value: 't' } },
          budget: { usdPerRun: 0.5 },
        },
        false,
      ),
    ).toEqual([]);
  });

  it("reports Claude Code's own budget stop as budget_exceeded by the CLI", () => {
    const guard = createBudgetGuard({
      budget: resolveBudget({ usdPerRun: 0.01, tokensPerRun: 0, turnsPerRun: 0 }, 'metered_api'),
      log: () => Promise.resolve(),
      warn: () => undefined,
    });
    const summary: RunSummaryLike = {
      sessionId: SESSION,
      model: null,
      hasResult: true,
      isError: true,
      resultText: null,
      summary: null,
      usage: { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
      costUsd: 0.012,
      numTurns: 1,
      failure: { code: 'budget-exhausted', hint: 'h', message: 'Reached maximum budget ($0.01)' },
    };
    expect(guard.finish(summary)).toMatchObject({ meter: 'usd', stoppedBy: 'claude-cli', limit: 0.01 });
  });
});
