import type { AdapterExecutionResult } from '@paperclipai/adapter-utils';
import type { TokenUsageLike } from './ports.ts';

/**
 * A run's token counts in Paperclip's terms: cache writes are billed as input, cache reads are Paperclip's
 * `cachedInputTokens`. One conversion for the run summary and the budget meter, so both report alike.
 */
export function toPaperclipUsage(usage: TokenUsageLike): NonNullable<AdapterExecutionResult['usage']> {
  return {
    inputTokens: usage.inputTokens + usage.cacheCreationInputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cacheReadInputTokens,
  };
}
