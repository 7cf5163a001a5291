import { afterEach, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '@claude-k8s/test-utils';
import { createFakeContext, createFakeRuntime, createMemoryHostFiles, admittingPolicy } from '../../test/fakes.ts';
import { createServerAdapter } from '../create-server-adapter.ts';
import { resolveRunBudget } from './budget-guard.ts';
import { pickRemainingBudget, readPaperclipRemainingBudget, resolvePaperclipServerUrl } from './paperclip-budget.ts';

const ids = { companyId: 'company-1', agentId: 'agent-1' };

function policy(overrides: Record<string, unknown>) {
  return {
    policyId: 'p',
    scopeType: 'agent',
    scopeId: 'agent-1',
    metric: 'billed_cents',
    windowKind: 'calendar_month_utc',
    amount: 1000,
    observedAmount: 0,
    remainingAmount: 1000,
    isActive: true,
    ...overrides,
  };
}

/** A fetch answering the budget overview route (and recording what was asked). */
function fakeFetch(status: number, body: unknown) {
  const calls: { url: string; authorization: string | null }[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  };
  return { fetch, calls };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("Paperclip's remaining monthly budget", () => {
  it('takes the lowest active dollar policy of the agent or its company', () => {
    const overview = {
      policies: [
        policy({ policyId: 'agent', remainingAmount: 250 }),
        policy({ policyId: 'company', scopeType: 'company', scopeId: 'company-1', remainingAmount: 120 }),
        policy({ policyId: 'other-agent', scopeId: 'agent-2', remainingAmount: 1 }),
        policy({ policyId: 'project', scopeType: 'project', scopeId: 'project-1', remainingAmount: 1 }),
        policy({ policyId: 'inactive', isActive: false, remainingAmount: 1 }),
        policy({ policyId: 'tokens', metric: 'tokens', remainingAmount: 1 }),
        policy({ policyId: 'no-amount', amount: 0, remainingAmount: 0 }),
      ],
    };
    expect(pickRemainingBudget(overview, ids)).toEqual({ remainingUsd: 1.2, scope: 'company', policyId: 'company' });
    expect(pickRemainingBudget({ policies: [policy({ remainingAmount: 75 })] }, ids)).toEqual({
      remainingUsd: 0.75,
      scope: 'agent',
      policyId: 'p',
    });
    expect(pickRemainingBudget({ policies: [] }, ids)).toBeNull();
    expect(pickRemainingBudget('nonsense', ids)).toBeNull();
  });

  it('reads the overview with the run token from the server it runs in', async () => {
    const { fetch, calls } = fakeFetch(200, { policies: [policy({ remainingAmount: 42 })] });
    const result = await readPaperclipRemainingBudget({
      fetch,
      baseUrl: 'http://127.0.0.1:3100',
      token: 'jwt',
      ...ids,
    });
    expect(result).toEqual({ success: true, value: { remainingUsd: 0.42, scope: 'agent', policyId: 'p' } });
    expect(calls).toEqual([
      { url: 'http://127.0.0.1:3100/api/companies/company-1/budgets/overview', authorization: 'Bearer jwt' },
    ]);
  });

  it('reports a refusal or a network error as a message, never throws, never shows the token', async () => {
    const refused = await readPaperclipRemainingBudget({
      fetch: fakeFetch(403, { error: 'no' }).fetch,
      baseUrl: 'http://127.0.0.1:3100',
      token: 'secret-jwt',
      ...ids,
    });
    expect(refused).toEqual({ success: false, message: expect.stringMatching(/budgets\/overview: 403/) as string });
    const broken = await readPaperclipRemainingBudget({
      fetch: () => Promise.reject(new Error('connect ECONNREFUSED')),
      baseUrl: 'http://127.0.0.1:1',
      token: 'secret-jwt',
      ...ids,
    });
    expect(broken).toMatchObject({ success: false });
    expect(JSON.stringify([refused, broken])).not.toContain('secret-jwt');
  });

  it("finds the server's own URL as Paperclip derives it", () => {
    expect(resolvePaperclipServerUrl({ PAPERCLIP_API_URL: 'http://127.0.0.1:3100/' })).toBe('http://127.0.0.1:3100');
    expect(resolvePaperclipServerUrl({ PAPERCLIP_LISTEN_HOST: '0.0.0.0', PAPERCLIP_LISTEN_PORT: '4000' })).toBe(
      'http://0.0.0.0:4000',
    );
    expect(resolvePaperclipServerUrl({})).toBe('http://localhost:3100');
  });

  it('lowers the dollar limit to what is left, only when asked, only on metered billing', async () => {
    const { fetch } = fakeFetch(200, { policies: [policy({ remainingAmount: 30 })] });
    const context = { token: 'jwt', ...ids, serverEnv: {}, fetch };
    const budget = { usdPerRun: 1, tokensPerRun: 0, turnsPerRun: 0 };
    expect(await resolveRunBudget({ budget: { ...budget, paperclipMonthly: true } }, 'metered_api', context)).toEqual({
      limits: { usd: 0.3, tokens: null, turns: null },
      usdSource: 'paperclip-agent-monthly',
      notes: [],
    });
    expect(
      (await resolveRunBudget({ budget: { ...budget, paperclipMonthly: false } }, 'metered_api', context)).limits.usd,
    ).toBe(1);
    const subscription = await resolveRunBudget(
      { budget: { ...budget, paperclipMonthly: true } },
      'subscription_included',
      context,
    );
    expect(subscription.limits.usd).toBeNull();
    expect(subscription.notes.join('\n')).toContain('subscription runs have no dollar cost');
    const noToken = await resolveRunBudget({ budget: { ...budget, paperclipMonthly: true } }, 'metered_api', {
      ...context,
      token: undefined,
    });
    expect(noToken).toMatchObject({ limits: { usd: 1 }, usdSource: 'run-limit' });
    expect(noToken.notes).toEqual([expect.stringContaining('no token')]);
  });

  it('stops a run at the monthly budget through execute, naming it in the message', async () => {
    const { fetch } = fakeFetch(200, {
      policies: [policy({ scopeType: 'company', scopeId: 'company-1', remainingAmount: 50 })],
    });
    vi.stubGlobal('fetch', fetch);
    const session = '7b3c7d2e-5f7a-4b1e-9c3d-2a1b0c9d8e7f';
    const message = (index: number) =>
      JSON.stringify({
        type: 'assistant',
        session_id: session,
        parent_tool_use_id: null,
        message: { id: `msg_${index}`, model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 100_000 } },
      });
    const launcher = createFakeRuntime([{ stdout: `${[1, 2, 3].map(message).join('\n')}\n`, hang: true }]);
    const adapter = createServerAdapter({
      ...admittingPolicy,
      runtimeFactory: (target) => launcher.at(target),
      hostFiles: createMemoryHostFiles({}),
      clock: createManualClock(),
      serverEnv: { PAPERCLIP_API_URL: 'http://127.0.0.1:3100' },
    });
    const result = await adapter.execute(
      createFakeContext({ configOverrides: { budget: { usdPerRun: 10, paperclipMonthly: true } } }),
    );
    expect(launcher.cancelled).toHaveLength(1);
    expect(result.errorCode).toBe('budget_exceeded');
    expect(result.errorMessage).toContain("of $0.50 left of the company's monthly budget in Paperclip");
    expect((result.resultJson as { budget: unknown }).budget).toMatchObject({
      meter: 'usd',
      limit: 0.5,
      limitSource: 'paperclip-company-monthly',
    });
  });
});
