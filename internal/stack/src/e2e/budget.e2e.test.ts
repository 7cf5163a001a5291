// End to end (issue 18): a run stops at its budget while it runs. A real Paperclip server, the adapter installed
// into it, Jobs on the real cluster, the real Claude Code CLI against the fake model API, whose `spend` scenario
// makes every reply report 100,000 input tokens while the agent keeps calling a tool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeRequestRecord } from '@claude-k8s/fake-model-api';
import type { Company, HeartbeatRun } from '@claude-k8s/paperclip-server';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import { startTestStack, stopTestStack, storedStdout, testProgress } from './harness.ts';

const namespace = `ck8s-e2e-budget-${process.pid}`;
let stack: Stack;
let company: Company;

beforeAll(async () => {
  stack = await startTestStack(namespace);
  company = await stack.client.createCompany({ name: `e2e budget ${process.pid}` });
});

afterAll(() => stopTestStack(stack, namespace));

/** Input tokens each reply of the spend scenario reports. */
const INPUT_PER_MESSAGE = 100_000;
/** The agent would go on for this many tool turns: far past any limit below. */
const SCRIPTED_TURNS = 20;
/** Each reply streams for about this long, so the stop lands while the agent is still busy. Milliseconds. */
const MESSAGE_MS = 1500;

function scriptModel(scenario: string, count: number): void {
  stack.fakeModel!.clearForcedScenarios();
  stack.fakeModel!.forceScenario(scenario, { count });
}

async function createAgent(name: string, overrides: Record<string, unknown>) {
  return stack.client.createAgent(company.id, {
    name,
    adapterType: ADAPTER_TYPE,
    adapterConfig: { ...stack.adapterConfig, ...overrides },
  });
}

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

async function wakeAndWait(agentId: string): Promise<HeartbeatRun> {
  const queued = await stack.client.wakeupAgent(agentId, {
    source: 'on_demand',
    triggerDetail: 'manual',
    reason: 'e2e',
  });
  return stack.client.waitForRun(queued.id, { timeoutMs: 240_000, until: TERMINAL });
}

/** Requests of the spend scenario since `from` that the model started answering (the ones that cost). */
function servedSpendRequests(from: number): FakeRequestRecord[] {
  return stack
    .fakeModel!.requests.slice(from)
    .filter((request) => request.scenario?.name === 'spend' && request.usage !== undefined)
    .filter((request) => ['completed', 'client-closed', 'cut'].includes(request.outcome ?? ''));
}

function inputOf(request: FakeRequestRecord): number {
  return (request.usage?.input_tokens ?? 0) + (request.usage?.cache_creation_input_tokens ?? 0);
}

interface BudgetJson {
  meter: string;
  limitSource: string | null;
  stoppedBy: string;
  limit: number;
  spentAtStop: number;
  spent: {
    costUsd: number;
    tokens: number;
    turns: number;
    inputTokens: number;
    cacheCreationInputTokens: number;
    outputTokens: number;
  };
}

function budgetOf(run: HeartbeatRun): BudgetJson | undefined {
  return (run['resultJson'] as { budget?: BudgetJson } | null | undefined)?.budget;
}

async function stderrOf(run: HeartbeatRun): Promise<string> {
  const { records } = await stack.client.getRunLog(run.id);
  return records
    .filter((record) => record.stream === 'stderr')
    .map((record) => record.chunk)
    .join('');
}

/** The stopped run's reported input tokens are what the model served: all of it, or all but one reply in flight. */
function expectTrueSpend(run: HeartbeatRun, served: FakeRequestRecord[]): void {
  const usage = (run['usageJson'] ?? {}) as Record<string, number>;
  const budget = budgetOf(run);
  testProgress.info(
    `${budget?.meter ?? '?'} stop: limit ${budget?.limit}, at stop ${budget?.spentAtStop}; model served ${served.length} replies (${served.map((request) => request.outcome).join(', ')}); reported input ${usage['inputTokens']}, output ${usage['outputTokens']}, cost ${usage['costUsd']}`,
  );
  const all = served.reduce((total, request) => total + inputOf(request), 0);
  const lastInFlight = served.length > 0 ? inputOf(served.at(-1)!) : 0;
  expect([all, all - lastInFlight]).toContain(usage['inputTokens']);
  const spent = budgetOf(run)!.spent;
  expect(spent.inputTokens + spent.cacheCreationInputTokens).toBe(usage['inputTokens']);
}

/** The next run of the agent resumes the stopped run's session: same id, and the model sees the earlier turns. */
async function expectNextRunResumes(agentId: string, stopped: HeartbeatRun): Promise<void> {
  const from = stack.fakeModel!.requests.length;
  scriptModel('text:continuing after the budget stop', 1);
  const next = await wakeAndWait(agentId);
  expect(next.status, String(next['error'] ?? '')).toBe('succeeded');
  expect(stopped['sessionIdAfter']).toBeTruthy();
  expect(next['sessionIdBefore']).toBe(stopped['sessionIdAfter']);
  expect(next['sessionIdAfter']).toBe(stopped['sessionIdAfter']);
  const request = stack.fakeModel!.requests.slice(from).find((entry) => entry.scenario?.name === 'text');
  expect(JSON.stringify(request?.body)).toContain('Spending, turn 1.');
}

describe(`a run stops at its budget while it runs (namespace ${namespace})`, () => {
  it('a dollar limit (API-key billing): stopped by the live meter within one message, budget_exceeded, true spend, resumed next', async () => {
    // Opus-family list price: each reply costs about $0.50, so $0.90 is crossed by the 2nd reply; the CLI's own
    // --max-budget-usd (its lower price for this model) would only stop it after the 3rd.
    const agent = await createAgent('budget-usd-agent', { budget: { usdPerRun: 0.9 } });
    const from = stack.fakeModel!.requests.length;
    scriptModel(`spend:${SCRIPTED_TURNS}:${INPUT_PER_MESSAGE}:${MESSAGE_MS}`, SCRIPTED_TURNS + 1);
    const run = await wakeAndWait(agent.id);
    const served = servedSpendRequests(from);

    expect(run.status, String(run['error'] ?? '')).toBe('failed');
    expect(run['errorCode']).toBe('budget_exceeded');
    const budget = budgetOf(run)!;
    expect(budget).toMatchObject({ meter: 'usd', stoppedBy: 'live-meter', limit: 0.9 });
    expect(budget.spentAtStop).toBeGreaterThanOrEqual(0.9);
    expect(budget.spentAtStop).toBeLessThan(0.9 + 0.52); // within one reply of the limit
    // Stopped within one message of the crossing (the 2nd reply): the 3rd may have been in flight, never more.
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(served.length).toBeLessThanOrEqual(3);
    expectTrueSpend(run, served);
    expect((run['usageJson'] as Record<string, number>)['costUsd']).toBeCloseTo(budget.spent.costUsd, 6);
    // The CLI's own limit was on the command line (fresh session, API key).
    expect(JSON.stringify(await stack.client.getRunEvents(run.id))).toContain('--max-budget-usd');
    // Live spend in the run's log while it went, then the stop.
    const stderr = await stderrOf(run);
    expect(stderr).toMatch(/\[claude-k8s\] budget: \$0\.\d{4} of \$0\.90 per run \(25%\)/);
    expect(stderr).toContain('[claude-k8s] budget exceeded:');
    expect(storedStdout((await stack.client.getRunLog(run.id)).records)).not.toContain('Done spending.');

    await expectNextRunResumes(agent.id, run);
  });

  it('a token limit on a subscription-style run (OAuth token, no API key): stopped by tokens, dollars not enforced', async () => {
    const agent = await createAgent('budget-tokens-agent', {
      anthropicApiKeySecret: {},
      env: { CLAUDE_CODE_OAUTH_TOKEN: 'fake-oauth-token-for-the-fake-model' },
      budget: { usdPerRun: 0.01, tokensPerRun: 250_000 },
    });
    const from = stack.fakeModel!.requests.length;
    scriptModel(`spend:${SCRIPTED_TURNS}:${INPUT_PER_MESSAGE}:${MESSAGE_MS}`, SCRIPTED_TURNS + 1);
    const run = await wakeAndWait(agent.id);
    const served = servedSpendRequests(from);

    expect(run.status, String(run['error'] ?? '')).toBe('failed');
    expect(run['errorCode']).toBe('budget_exceeded');
    const budget = budgetOf(run)!;
    expect(budget).toMatchObject({ meter: 'tokens', stoppedBy: 'live-meter', limit: 250_000 });
    // 3 replies of 100,120 input tokens cross 250,000; never a 5th.
    expect(budget.spentAtStop).toBeGreaterThanOrEqual(250_000);
    expect(budget.spentAtStop).toBeLessThan(250_000 + INPUT_PER_MESSAGE + 1000);
    expect(served.length).toBeGreaterThanOrEqual(3);
    expect(served.length).toBeLessThanOrEqual(4);
    expectTrueSpend(run, served);
    // The OAuth token reached the model as a bearer token (subscription-style), and no dollar limit went to the CLI.
    expect(served[0]!.headers['authorization']).toBe('[redacted]');
    expect(served[0]!.headers['x-api-key']).toBeUndefined();
    const events = JSON.stringify(await stack.client.getRunEvents(run.id));
    expect(events).not.toContain('--max-budget-usd');
    expect(events).toContain('budget.usdPerRun ($0.01) is not enforced');

    await expectNextRunResumes(agent.id, run);
  });

  it("Paperclip's monthly budget of the agent, read with the run token, stops the run at what is left", async () => {
    // $0.80 a month for this agent, nothing spent yet: the 2nd reply (about $1.00) crosses it; no per-run limit.
    const agent = await stack.client.createAgent(company.id, {
      name: 'budget-monthly-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: { ...stack.adapterConfig, budget: { paperclipMonthly: true } },
      budgetMonthlyCents: 80,
    });
    const from = stack.fakeModel!.requests.length;
    scriptModel(`spend:${SCRIPTED_TURNS}:${INPUT_PER_MESSAGE}:${MESSAGE_MS}`, SCRIPTED_TURNS + 1);
    const run = await wakeAndWait(agent.id);
    const events = JSON.stringify(await stack.client.getRunEvents(run.id));
    expect(events, 'the budgets could not be read').not.toContain('could not read Paperclip');
    expect(run['errorCode'], String(run['error'] ?? '')).toBe('budget_exceeded');
    expect(budgetOf(run)).toMatchObject({ meter: 'usd', limit: 0.8, limitSource: 'paperclip-agent-monthly' });
    expect(String(run['error'])).toContain("left of the agent's monthly budget in Paperclip");
    expect(servedSpendRequests(from).length).toBeLessThanOrEqual(3);
  });

  it('a run under its limits is untouched', async () => {
    const agent = await createAgent('budget-under-agent', { budget: { usdPerRun: 5, tokensPerRun: 1_000_000 } });
    const from = stack.fakeModel!.requests.length;
    scriptModel('spend:2:1000:0', 3);
    const run = await wakeAndWait(agent.id);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    expect(run['errorCode']).toBeFalsy();
    expect(budgetOf(run)).toBeUndefined();
    const served = servedSpendRequests(from);
    expect(served.map((request) => request.outcome)).toEqual(['completed', 'completed', 'completed']);
    const usage = (run['usageJson'] ?? {}) as Record<string, number>;
    expect(usage['inputTokens']).toBe(served.reduce((total, request) => total + inputOf(request), 0));
    expect(await stderrOf(run)).not.toContain('[claude-k8s] budget');
    expect(storedStdout((await stack.client.getRunLog(run.id)).records)).toContain('Done spending.');
  });
});
