/**
 * The one price table of the adapter: US dollars per million tokens, by model family. Used by the live budget meter
 * for the messages the stream reports only in tokens (Claude Code prints a dollar figure only on `result` lines).
 *
 * Source: Anthropic's published Claude API list prices (standard tier, global endpoint), as carried by Claude Code
 * 2.1.331's built-in price table (checked 2026-12-04): cache writes cost 1.25 × input (5-minute) or 2 × input
 * (1-hour), cache reads 0.1 × input. The recorded transcripts confirm Sonnet 4.5 to the cent fraction
 * (`m_model_flag`: CLI `costUSD` 0.009795 = this table). Models not listed are priced as the most expensive
 * current family ({@link FALLBACK_PRICE}), so an unknown model makes the meter stop early rather than late.
 */
import type { TokenUsageLike } from '../ports.ts';

/** Prices of one model family, US dollars per million tokens. */
export interface ModelPrice {
  /** Uncached input tokens. USD per million tokens. */
  inputPerMTok: number;
  /** Output tokens (thinking included). USD per million tokens. */
  outputPerMTok: number;
  /** Cache writes with the default 5-minute lifetime. USD per million tokens. */
  cacheWrite5mPerMTok: number;
  /** Cache writes with the 1-hour lifetime. USD per million tokens. */
  cacheWrite1hPerMTok: number;
  /** Cache reads. USD per million tokens. */
  cacheReadPerMTok: number;
}

/** The date the table was last checked against its source (ISO date). */
export const PRICE_TABLE_DATE = '2026-12-04';

function family(inputPerMTok: number, outputPerMTok: number): ModelPrice {
  return {
    inputPerMTok,
    outputPerMTok,
    cacheWrite5mPerMTok: inputPerMTok * 1.25,
    cacheWrite1hPerMTok: inputPerMTok * 2,
    cacheReadPerMTok: inputPerMTok * 0.1,
  };
}

/**
 * Model id prefixes and their prices; the first matching prefix wins, so more specific prefixes come first.
 * Dated ids (`claude-sonnet-4-5-20250929`) match their family prefix.
 */
const PRICE_TABLE: readonly { prefix: string; price: ModelPrice }[] = Object.freeze([
  { prefix: 'claude-opus-4-1', price: family(15, 75) },
  // Opus 4 (`claude-opus-4-20250514`): the dated id starts with `claude-opus-4-2`.
  { prefix: 'claude-opus-4-2', price: family(15, 75) },
  { prefix: 'claude-3-opus', price: family(15, 75) },
  { prefix: 'claude-opus', price: family(5, 25) },
  { prefix: 'claude-sonnet', price: family(3, 15) },
  { prefix: 'claude-3-7-sonnet', price: family(3, 15) },
  { prefix: 'claude-3-5-sonnet', price: family(3, 15) },
  { prefix: 'claude-haiku', price: family(1, 5) },
  { prefix: 'claude-3-5-haiku', price: family(0.8, 4) },
  { prefix: 'claude-3-haiku', price: family(0.25, 1.25) },
]);

/** Prices for a model the table does not know: the Opus family (the most expensive current one). */
export const FALLBACK_PRICE: ModelPrice = family(5, 25);

/** The price of a model id and whether it came from the table (`table`) or the fallback (`fallback`). */
export function priceOf(model: string | null): { price: ModelPrice; source: 'table' | 'fallback' } {
  if (model !== null) {
    const id = model.toLowerCase().replace(/^(?:us\.|eu\.|apac\.)?anthropic\./, '');
    for (const entry of PRICE_TABLE) if (id.startsWith(entry.prefix)) return { price: entry.price, source: 'table' };
  }
  return { price: FALLBACK_PRICE, source: 'fallback' };
}

/**
 * The list price of some tokens, US dollars. `cacheWrite1hTokens` is the part of `cacheCreationInputTokens` written
 * with the 1-hour lifetime (default 0: all 5-minute writes).
 */
export function priceTokens(usage: TokenUsageLike, price: ModelPrice, cacheWrite1hTokens = 0): number {
  const oneHour = Math.min(Math.max(0, cacheWrite1hTokens), usage.cacheCreationInputTokens);
  return (
    (usage.inputTokens * price.inputPerMTok +
      usage.outputTokens * price.outputPerMTok +
      (usage.cacheCreationInputTokens - oneHour) * price.cacheWrite5mPerMTok +
      oneHour * price.cacheWrite1hPerMTok +
      usage.cacheReadInputTokens * price.cacheReadPerMTok) /
    1_000_000
  );
}
