/**
 * Budget enforcement around one run attempt: which limits apply to this agent and billing, the CLI's own
 * `--max-budget-usd`, the live meter wired to the run's stdout and its cancel, progress lines, and the
 * `budget_exceeded` outcome (what Paperclip records, with the limit, the spend and the meter that stopped the run).
 */
import type { AdapterBillingType, AdapterExecutionResult } from '@paperclipai/adapter-utils';
import type { AdapterConfig } from '../config-schema.ts';
import type { RunSummaryLike } from '../ports.ts';
import {
  createBudgetMeter,
  type BudgetLimits,
  type BudgetMeter,
  type BudgetMeterName,
  type BudgetSpend,
  type BudgetStep,
} from './budget-meter.ts';
import { readPaperclipRemainingBudget, resolvePaperclipServerUrl } from './paperclip-budget.ts';
import { PRICE_TABLE_DATE } from './prices.ts';
import { toPaperclipUsage } from '../paperclip-usage.ts';

/** Where the dollar limit of a run comes from. */
export type UsdLimitSource = 'run-limit' | 'paperclip-agent-monthly' | 'paperclip-company-monthly';

/** The limits of one run and notes on the ones that do not apply. */
export interface EffectiveBudget {
  limits: BudgetLimits;
  /** Where `limits.usd` comes from; `null` without a dollar limit. */
  usdSource: UsdLimitSource | null;
  /** Why a configured limit is not enforced (e.g. dollars on subscription billing), or what was read. */
  notes: string[];
}

function positive(value: number): number | null {
  return value > 0 ? value : null;
}

/**
 * The limits of a run: the configured ones, except the dollar limit on subscription (OAuth) billing, where a run
 * has no dollar cost (Claude Code still prints a list-price figure; it is not what anybody pays).
 */
export function resolveBudget(
  budget: Pick<AdapterConfig['budget'], 'usdPerRun' | 'tokensPerRun' | 'turnsPerRun'>,
  billingType: AdapterBillingType | undefined,
): EffectiveBudget {
  const notes: string[] = [];
  let usd = positive(budget.usdPerRun);
  if (usd !== null && (billingType === 'subscription_included' || billingType === 'subscription')) {
    notes.push(
      `budget.usdPerRun ($${usd}) is not enforced: this agent is billed by subscription (OAuth), where runs have no dollar cost; set budget.tokensPerRun instead`,
    );
    usd = null;
  }
  return {
    limits: { usd, tokens: positive(budget.tokensPerRun), turns: positive(budget.turnsPerRun) },
    usdSource: usd === null ? null : 'run-limit',
    notes,
  };
}

/** What {@link resolveRunBudget} needs besides the configuration. */
export interface RunBudgetContext {
  /** The run's JWT (`ctx.authToken`); without it Paperclip's budgets cannot be read. */
  token: string | undefined;
  companyId: string;
  agentId: string;
  /** Environment of the Paperclip server process (its own URL). */
  serverEnv: Readonly<Record<string, string | undefined>>;
  /** `fetch`; the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/**
 * The limits of a run ({@link resolveBudget}), lowered to the agent's or the company's remaining monthly budget in
 * Paperclip (whichever is lower) when `budget.paperclipMonthly` is on. A budget that cannot be read is a note, not a
 * failure: the run goes on with its own limits.
 */
export async function resolveRunBudget(
  config: Pick<AdapterConfig, 'budget'>,
  billingType: AdapterBillingType | undefined,
  context: RunBudgetContext,
): Promise<EffectiveBudget> {
  const effective = resolveBudget(config.budget, billingType);
  if (!config.budget.paperclipMonthly) return effective;
  if (billingType === 'subscription_included' || billingType === 'subscription') {
    effective.notes.push('budget.paperclipMonthly is not applied: subscription runs have no dollar cost');
    return effective;
  }
  if (context.token === undefined || context.token === '') {
    effective.notes.push(
      'budget.paperclipMonthly is not applied: Paperclip gave this run no token to read budgets with',
    );
    return effective;
  }
  const read = await readPaperclipRemainingBudget({
    baseUrl: resolvePaperclipServerUrl(context.serverEnv),
    token: context.token,
    companyId: context.companyId,
    agentId: context.agentId,
    ...(context.fetch === undefined ? {} : { fetch: context.fetch }),
  });
  if (!read.success) {
    effective.notes.push(`budget.paperclipMonthly: could not read Paperclip's budgets (${read.message})`);
    return effective;
  }
  const remaining = read.value;
  if (remaining === null) return effective;
  if (effective.limits.usd === null || remaining.remainingUsd < effective.limits.usd) {
    effective.limits.usd = remaining.remainingUsd;
    effective.usdSource = remaining.scope === 'agent' ? 'paperclip-agent-monthly' : 'paperclip-company-monthly';
  }
  return effective;
}

/** True when the config bills tokens per use through an Anthropic API key (the only case `--max-budget-usd` fits). */
function isMeteredApiKey(config: Pick<AdapterConfig, 'env' | 'anthropicApiKeySecret'>): boolean {
  const bedrock = config.env['CLAUDE_CODE_USE_BEDROCK'];
  if (bedrock !== undefined && 'value' in bedrock && (bedrock.value === '1' || bedrock.value === 'true')) return false;
  return config.anthropicApiKeySecret.name !== undefined || 'ANTHROPIC_API_KEY' in config.env;
}

/**
 * Claude Code's own dollar limit, `--max-budget-usd`, for the command line: only with API-key billing (the CLI
 * stops OAuth runs by a cost nobody pays) and only on a fresh session (the CLI compares the limit with the whole
 * session's cost, which it restores on `--resume`, so a resumed session could be stopped before its first turn).
 * The live meter covers every case; this is the second, CLI-side depth. Returns `[]` when it does not apply.
 */
export function buildBudgetCliArgs(
  config: Pick<AdapterConfig, 'env' | 'anthropicApiKeySecret'> & { budget: Pick<AdapterConfig['budget'], 'usdPerRun'> },
  resumed: boolean,
): string[] {
  if (!(config.budget.usdPerRun > 0) || resumed || !isMeteredApiKey(config)) return [];
  return ['--max-budget-usd', String(config.budget.usdPerRun)];
}

/** Which depth stopped a run. */
export type BudgetStopper = 'live-meter' | 'claude-cli';

/** A run stopped by a budget: what Paperclip gets as `budget_exceeded`. */
export interface BudgetStop {
  /** The meter that crossed: dollars, tokens or turns. */
  meter: BudgetMeterName;
  /** `live-meter`: the adapter stopped the pod; `claude-cli`: Claude Code's `--max-budget-usd` ended the run. */
  stoppedBy: BudgetStopper;
  /** The limit, in the meter's unit. */
  limit: number;
  /** What the meter read when it stopped the run, same unit. */
  spentAtStop: number;
  /** Unit of `limit` and `spentAtStop`. */
  unit: 'usd' | 'tokens' | 'turns';
  /** For the dollar meter: the per-run limit, or what was left of Paperclip's monthly budget. */
  limitSource: UsdLimitSource | null;
  /** Everything the run spent, read to the end of its output (the pod may print past the crossing). */
  spend: BudgetSpend;
}

const UNITS = { usd: 'usd', tokens: 'tokens', turns: 'turns' } as const;

/** A figure in a meter's unit, for humans: `$0.42`, `$0.4213`, `12,345 tokens`, `3 turns`. */
function formatBudgetFigure(meter: BudgetMeterName, value: number): string {
  if (meter === 'usd') {
    const wholeCents = Math.abs(value * 100 - Math.round(value * 100)) < 1e-9;
    return `$${value.toFixed(value >= 1 || wholeCents ? 2 : 4)}`;
  }
  return `${Math.round(value).toLocaleString('en-US')} ${meter}`;
}

/** The progress line of a step: `[claude-k8s] budget: $0.5012 of $2.00 per run (25%)`. */
function formatBudgetStep(step: BudgetStep): string {
  return `[claude-k8s] budget: ${formatBudgetFigure(step.meter, step.spent)} of ${formatBudgetFigure(step.meter, step.limit)} per run (${Math.round(step.fraction * 100)}%)\n`;
}

/** Collaborators of {@link createBudgetGuard}. */
export interface BudgetGuardOptions {
  budget: EffectiveBudget;
  /** Writes an adapter line into the run's log (`onLog('stderr', …)`). */
  log: (line: string) => Promise<void>;
  /** Called when `cancel` fails (the run then ends on its own). */
  warn: (message: string) => void;
}

/** The live meter of one attempt, wired to the attempt's cancel. */
export interface BudgetGuard {
  /** Feeds a stdout chunk; writes progress lines; on a crossing, starts the cancel (not awaited: see below). */
  push(chunk: string): Promise<void>;
  /**
   * Hands over the attempt's cancel once the run has started. A crossing seen earlier cancels at once. The cancel
   * is started, never awaited from `push`: it waits for the container to end, whose output still flows through
   * `push`, so awaiting it there would deadlock.
   */
  attach(cancel: (reason: string) => Promise<void>): void;
  /** The stop of this attempt, if any: the live meter's crossing, or Claude Code's own budget result. */
  finish(summary: RunSummaryLike | null): BudgetStop | null;
  /** Spend so far (for summaries). */
  spend(): BudgetSpend;
  /** The meter (for tests and the demo). */
  meter: BudgetMeter;
}

/** Creates the {@link BudgetGuard} of one attempt. */
export function createBudgetGuard(options: BudgetGuardOptions): BudgetGuard {
  const meter = createBudgetMeter(options.budget.limits);
  let cancel: ((reason: string) => Promise<void>) | null = null;
  let cancelStarted = false;

  function startCancel(): void {
    const crossing = meter.crossing();
    if (crossing === null || cancel === null || cancelStarted) return;
    cancelStarted = true;
    const reason = `budget exceeded: ${formatBudgetFigure(crossing.meter, crossing.spent)} of ${formatBudgetFigure(crossing.meter, crossing.limit)} per run`;
    cancel(reason).catch((error: unknown) =>
      options.warn(`stop the run at its budget: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  return {
    meter,
    async push(chunk) {
      const update = meter.push(chunk);
      for (const step of update.steps) await options.log(formatBudgetStep(step));
      if (update.crossed !== null) {
        const { meter: name, spent, limit } = update.crossed;
        await options.log(
          `[claude-k8s] budget exceeded: ${formatBudgetFigure(name, spent)} of ${formatBudgetFigure(name, limit)} per run; stopping the pod (SIGTERM, then the grace period) so the session is kept\n`,
        );
        startCancel();
      }
    },
    attach(handler) {
      cancel = handler;
      startCancel();
    },
    finish(summary) {
      meter.end();
      const spend = meter.spend();
      const crossing = meter.crossing();
      // A run whose successful final result came before the stop took effect finished its work: not stopped.
      const completed = summary !== null && summary.hasResult && !summary.isError && summary.failure === null;
      if (crossing !== null && !completed)
        return {
          meter: crossing.meter,
          stoppedBy: 'live-meter',
          limit: crossing.limit,
          spentAtStop: crossing.spent,
          unit: UNITS[crossing.meter],
          limitSource: crossing.meter === 'usd' ? options.budget.usdSource : null,
          spend,
        };
      const limit = options.budget.limits.usd;
      if (summary?.failure?.code === 'budget-exhausted' && limit !== null)
        return {
          meter: 'usd',
          stoppedBy: 'claude-cli',
          limit,
          spentAtStop: spend.costUsd,
          unit: 'usd',
          limitSource: 'run-limit',
          spend,
        };
      return null;
    },
    spend: () => meter.spend(),
  };
}

/** The failure message of a budget stop. */
export function describeBudgetStop(stop: BudgetStop): string {
  const by = stop.stoppedBy === 'live-meter' ? 'the adapter stopped the pod' : 'Claude Code stopped (--max-budget-usd)';
  return `budget exceeded: ${formatBudgetFigure(stop.meter, stop.spentAtStop)} of ${formatBudgetFigure(stop.meter, stop.limit)} ${LIMIT_WORDS[stop.limitSource ?? 'run-limit']} (${by}); the session is kept, so the next run continues it`;
}

const LIMIT_WORDS: Record<UsdLimitSource, string> = {
  'run-limit': 'per run',
  'paperclip-agent-monthly': "left of the agent's monthly budget in Paperclip",
  'paperclip-company-monthly': "left of the company's monthly budget in Paperclip",
};

/**
 * Applies a budget stop to a mapped result (the `budget_exceeded` branch of the result mapping): usage and cost
 * are what the run really spent as far as its output shows (Claude Code's figures where a `result` settled them,
 * the price table for the rest), and `resultJson.budget` tells the limit, the spend and the meter.
 */
export function applyBudgetStop(
  result: AdapterExecutionResult,
  resultJson: Record<string, unknown>,
  stop: BudgetStop,
): void {
  const { spend } = stop;
  result.usage = toPaperclipUsage(spend.usage);
  result.usageBasis = 'per_run';
  result.costUsd = spend.costUsd;
  resultJson['budget'] = {
    meter: stop.meter,
    stoppedBy: stop.stoppedBy,
    limit: stop.limit,
    spentAtStop: stop.spentAtStop,
    unit: stop.unit,
    limitSource: stop.limitSource,
    spent: {
      costUsd: spend.costUsd,
      tokens: spend.tokens,
      turns: spend.turns,
      inputTokens: spend.usage.inputTokens,
      cacheCreationInputTokens: spend.usage.cacheCreationInputTokens,
      cacheReadInputTokens: spend.usage.cacheReadInputTokens,
      outputTokens: spend.usage.outputTokens,
    },
    outputTokensEstimated: spend.outputEstimated,
    priceFallback: spend.priceFallback,
    priceTableDate: PRICE_TABLE_DATE,
  };
}
