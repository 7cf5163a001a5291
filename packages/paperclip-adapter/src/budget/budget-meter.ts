/**
 * The live budget meter: a pure fold over a run's stdout (Claude Code stream-json) that knows, after every line, what
 * the run has spent so far in dollars, tokens and turns, and tells the moment a limit is crossed.
 *
 * What the stream carries, and how it is counted:
 * - `assistant` lines carry their API message's `message_start` usage: input, cache-write and cache-read tokens are
 *   final, output tokens are not (`1`). Lines of one message share `message.id`, so each message counts once.
 *   Output tokens come from the `message_delta` stream event when partial messages are on, else they are estimated
 *   from the message's content at {@link CHARACTERS_PER_TOKEN} characters per token (flagged `estimated`).
 * - `result` lines settle everything since the previous result with Claude Code's own figures
 *   (`model_usage_since_last_result`: tokens and `costUSD` per model, sub-agents included), replacing the estimates.
 *   A run can print several results (background sub-agents); each settles its own share.
 * - Messages not yet settled by a result are priced with the {@link priceOf} table.
 */
import { createLineSplitter, normalizeApiUsage, normalizeModelUsage, parseJsonLine } from '@claude-k8s/stream-json';
import type { TokenUsageLike } from '../ports.ts';
import { priceOf, priceTokens } from './prices.ts';

/**
 * Characters per output token when the stream does not say: 3.5, Anthropic's rule of thumb for Claude's tokenizer
 * on English text (code packs denser, prose looser). An estimate only; a `result` replaces it with the real count.
 */
export const CHARACTERS_PER_TOKEN = 3.5;

/** The per-run limits the meter enforces; `null` = no limit on that meter. */
export interface BudgetLimits {
  /** Dollars per run (list price of the tokens). US dollars. */
  usd: number | null;
  /** Tokens per run: input (uncached + cache writes) + output; cache reads are not counted. Tokens. */
  tokens: number | null;
  /** Main-agent API round trips per run. Turns. */
  turns: number | null;
}

/** Which meter crossed its limit. */
export type BudgetMeterName = 'usd' | 'tokens' | 'turns';

/** What a run has spent so far. */
export interface BudgetSpend {
  /** Dollars: Claude Code's own figure for settled messages plus the price table for the rest. US dollars. */
  costUsd: number;
  /** Token counts of this run (sub-agents included). */
  usage: TokenUsageLike;
  /** The token meter's figure: input + cache-write + output tokens. Tokens. */
  tokens: number;
  /** Main-agent API messages seen. Turns. */
  turns: number;
  /** True when some output tokens were estimated from text length (messages no `result` settled). */
  outputEstimated: boolean;
  /** True when some unsettled message was priced with the fallback price (a model the table does not know). */
  priceFallback: boolean;
  /** Number of `result` lines seen. */
  resultCount: number;
}

/** A limit crossed. */
export interface BudgetCrossing {
  meter: BudgetMeterName;
  /** The limit, in the meter's unit (US dollars, tokens or turns). */
  limit: number;
  /** What the meter read when it crossed, in the same unit. */
  spent: number;
  /** 1-based stdout line on which it crossed. */
  lineNumber: number;
}

/** A step of spend worth showing (a quarter of a limit reached). */
export interface BudgetStep {
  meter: BudgetMeterName;
  limit: number;
  spent: number;
  /** 0.25, 0.5 or 0.75 (1 is a crossing, reported as such). */
  fraction: number;
}

/** What one {@link BudgetMeter.push} found. */
export interface BudgetUpdate {
  /** Quarter steps reached by this chunk, each once per meter. */
  steps: BudgetStep[];
  /** The first crossing, reported once (on the push that caused it); `null` otherwise. */
  crossed: BudgetCrossing | null;
}

/** The live meter of one run attempt. */
export interface BudgetMeter {
  /** Feeds a stdout chunk (any split). */
  push(chunk: string): BudgetUpdate;
  /** Ends the input (a last line without a newline is read). */
  end(): BudgetUpdate;
  /** Spend so far. */
  spend(): BudgetSpend;
  /** The crossing, once one happened. */
  crossing(): BudgetCrossing | null;
  /** The session id of the run (the last one seen), or `null`. */
  sessionId(): string | null;
}

interface PendingMessage {
  model: string | null;
  main: boolean;
  input: number;
  cacheCreation: number;
  cacheCreation1h: number;
  cacheRead: number;
  outputReported: number;
  outputFromDelta: number | null;
  characters: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function contentCharacters(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let characters = 0;
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (typeof block['text'] === 'string') characters += block['text'].length;
    if (typeof block['thinking'] === 'string') characters += block['thinking'].length;
    if (block['type'] === 'tool_use' && block['input'] !== undefined)
      characters += JSON.stringify(block['input']).length;
  }
  return characters;
}

const QUARTERS = [0.25, 0.5, 0.75] as const;

/** Creates a {@link BudgetMeter}. Meters whose limit is `null` (or not positive) only count. */
export function createBudgetMeter(limits: BudgetLimits): BudgetMeter {
  const splitter = createLineSplitter();
  let lineNumber = 0;
  const settled = { costUsd: 0, inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
  let pending = new Map<string, PendingMessage>();
  const mainMessages = new Set<string>();
  let anonymous = 0;
  let resultCount = 0;
  let session: string | null = null;
  let crossed: BudgetCrossing | null = null;
  const stepsShown: Record<BudgetMeterName, number> = { usd: 0, tokens: 0, turns: 0 };

  function pendingOutput(message: PendingMessage): { tokens: number; estimated: boolean } {
    if (message.outputFromDelta !== null)
      return { tokens: Math.max(message.outputFromDelta, message.outputReported), estimated: false };
    const estimate = Math.ceil(message.characters / CHARACTERS_PER_TOKEN);
    return estimate > message.outputReported
      ? { tokens: estimate, estimated: true }
      : { tokens: message.outputReported, estimated: false };
  }

  function spend(): BudgetSpend {
    const usage: TokenUsageLike = {
      inputTokens: settled.inputTokens,
      outputTokens: settled.outputTokens,
      cacheCreationInputTokens: settled.cacheCreationInputTokens,
      cacheReadInputTokens: settled.cacheReadInputTokens,
    };
    let costUsd = settled.costUsd;
    let outputEstimated = false;
    let priceFallback = false;
    for (const message of pending.values()) {
      const output = pendingOutput(message);
      const tokens: TokenUsageLike = {
        inputTokens: message.input,
        outputTokens: output.tokens,
        cacheCreationInputTokens: message.cacheCreation,
        cacheReadInputTokens: message.cacheRead,
      };
      const { price, source } = priceOf(message.model);
      costUsd += priceTokens(tokens, price, message.cacheCreation1h);
      usage.inputTokens += tokens.inputTokens;
      usage.outputTokens += tokens.outputTokens;
      usage.cacheCreationInputTokens += tokens.cacheCreationInputTokens;
      usage.cacheReadInputTokens += tokens.cacheReadInputTokens;
      outputEstimated ||= output.estimated;
      priceFallback ||= source === 'fallback';
    }
    return {
      costUsd,
      usage,
      tokens: usage.inputTokens + usage.cacheCreationInputTokens + usage.outputTokens,
      turns: mainMessages.size,
      outputEstimated,
      priceFallback,
      resultCount,
    };
  }

  function readAssistant(line: Record<string, unknown>): void {
    const message = line['message'];
    if (!isRecord(message)) return;
    const model = typeof message['model'] === 'string' ? message['model'] : null;
    // The CLI's synthetic error messages cost nothing.
    if (model === '<synthetic>' || line['is_api_error_message'] === true) return;
    const id = typeof message['id'] === 'string' ? message['id'] : `line-${(anonymous += 1)}`;
    const main = line['parent_tool_use_id'] === null || line['parent_tool_use_id'] === undefined;
    if (main) mainMessages.add(id);
    let entry = pending.get(id);
    if (entry === undefined) {
      entry = {
        model,
        main,
        input: 0,
        cacheCreation: 0,
        cacheCreation1h: 0,
        cacheRead: 0,
        outputReported: 0,
        outputFromDelta: null,
        characters: 0,
      };
      pending.set(id, entry);
    }
    const usage = normalizeApiUsage(message['usage']);
    if (usage !== null) {
      // The same message_start usage repeats on every line of the message: take it once (the largest seen).
      entry.input = Math.max(entry.input, usage.inputTokens);
      entry.cacheCreation = Math.max(entry.cacheCreation, usage.cacheCreationInputTokens);
      entry.cacheRead = Math.max(entry.cacheRead, usage.cacheReadInputTokens);
      entry.outputReported = Math.max(entry.outputReported, usage.outputTokens);
      const cacheCreation = isRecord(message['usage']) ? message['usage']['cache_creation'] : undefined;
      if (isRecord(cacheCreation))
        entry.cacheCreation1h = Math.max(entry.cacheCreation1h, count(cacheCreation['ephemeral_1h_input_tokens']));
    }
    entry.characters += contentCharacters(message['content']);
  }

  function readStreamEvent(line: Record<string, unknown>): void {
    const event = line['event'];
    if (!isRecord(event) || event['type'] !== 'message_delta' || !isRecord(event['usage'])) return;
    const id = typeof line['api_message_id'] === 'string' ? line['api_message_id'] : null;
    const entry = id === null ? undefined : pending.get(id);
    if (entry === undefined) return;
    entry.outputFromDelta = Math.max(entry.outputFromDelta ?? 0, count(event['usage']['output_tokens']));
  }

  function readResult(line: Record<string, unknown>): void {
    resultCount += 1;
    const since = normalizeModelUsage(line['model_usage_since_last_result']);
    if (since === null || Object.keys(since).length === 0) {
      // No per-model figures: an API error (an empty map; the CLI prices it at $0) or an older CLI (no map; its
      // `usage` is priced by the table). Its `usage` still counts the tokens, including those of a request whose
      // stream broke and was never printed.
      const usage = normalizeApiUsage(line['usage']);
      if (usage === null || usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens === 0) return;
      if (since === null) settled.costUsd += priceTokens(usage, priceOf(null).price);
      settled.inputTokens += usage.inputTokens;
      settled.outputTokens += usage.outputTokens;
      settled.cacheCreationInputTokens += usage.cacheCreationInputTokens;
      settled.cacheReadInputTokens += usage.cacheReadInputTokens;
      pending = new Map();
      return;
    }
    for (const entry of Object.values(since)) {
      settled.costUsd += entry.costUsd;
      settled.inputTokens += entry.inputTokens;
      settled.outputTokens += entry.outputTokens;
      settled.cacheCreationInputTokens += entry.cacheCreationInputTokens;
      settled.cacheReadInputTokens += entry.cacheReadInputTokens;
    }
    pending = new Map();
  }

  function readLine(text: string): void {
    lineNumber += 1;
    const parsed = parseJsonLine(text, lineNumber);
    if (parsed.success !== true) return;
    const line = parsed.value;
    if (typeof line['session_id'] === 'string') session = line['session_id'];
    switch (line['type']) {
      case 'assistant':
        readAssistant(line);
        return;
      case 'stream_event':
        readStreamEvent(line);
        return;
      case 'result':
        readResult(line);
        return;
      default:
        return;
    }
  }

  function check(): BudgetUpdate {
    const steps: BudgetStep[] = [];
    const now = spend();
    const readings: Record<BudgetMeterName, number> = { usd: now.costUsd, tokens: now.tokens, turns: now.turns };
    let first: BudgetCrossing | null = null;
    for (const meter of ['usd', 'tokens', 'turns'] as const) {
      const limit = limits[meter];
      if (limit === null || !(limit > 0)) continue;
      const spent = readings[meter];
      if (crossed === null && first === null && spent >= limit) first = { meter, limit, spent, lineNumber };
      for (const fraction of QUARTERS) {
        if (stepsShown[meter] < fraction && spent >= limit * fraction && spent < limit) {
          stepsShown[meter] = fraction;
          steps.push({ meter, limit, spent, fraction });
        }
      }
    }
    if (first !== null) crossed = first;
    return { steps, crossed: first };
  }

  function merge(target: BudgetUpdate, update: BudgetUpdate): void {
    target.steps.push(...update.steps);
    target.crossed ??= update.crossed;
  }

  return {
    push(chunk) {
      const update: BudgetUpdate = { steps: [], crossed: null };
      // Check after every line, so a crossing is found on the line that caused it.
      splitter.push(chunk, (line) => {
        readLine(line);
        merge(update, check());
      });
      return update;
    },
    end() {
      const update: BudgetUpdate = { steps: [], crossed: null };
      const last = splitter.end((line) => {
        readLine(line);
        merge(update, check());
      });
      if (last !== undefined && last.length > 0) {
        readLine(last);
        merge(update, check());
      }
      return update;
    },
    spend,
    crossing: () => crossed,
    sessionId: () => session,
  };
}
