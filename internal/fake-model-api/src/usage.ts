import type { ContentBlockPlan } from './scenarios.ts';

/** `cache_creation_input_tokens` reported on every answered request (the same figure the transcripts' fake used). */
export const FAKE_CACHE_CREATION_INPUT_TOKENS = 120;
/** `cache_read_input_tokens` reported on every answered request. */
export const FAKE_CACHE_READ_INPUT_TOKENS = 3000;

/** The usage figures the fake reports for one answered request (also kept in its request record). */
export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * `input_tokens` for a request: `ceil(length of JSON.stringify(messages) / 4)`, length in UTF-16 code units,
 * `messages` being the request body's `messages` array exactly as parsed (`[]` when absent).
 * `count_tokens` answers the same number.
 */
export function computeInputTokens(messages: unknown): number {
  return Math.ceil(JSON.stringify(messages ?? []).length / 4);
}

/**
 * `output_tokens` for a reply: `max(1, ceil(characters / 4))` where characters is the sum over the content blocks of
 * the text (`text`), the thinking text (`thinking`, the signature does not count) or `JSON.stringify(input)`
 * (`tool_use`), in UTF-16 code units.
 */
export function computeOutputTokens(content: readonly ContentBlockPlan[]): number {
  let characters = 0;
  for (const block of content) {
    switch (block.type) {
      case 'text':
        characters += block.text.length;
        break;
      case 'thinking':
        characters += block.thinking.length;
        break;
      case 'tool_use':
        characters += JSON.stringify(block.input).length;
        break;
    }
  }
  return Math.max(1, Math.ceil(characters / 4));
}

/** The full usage of one reply: see {@link computeInputTokens} and {@link computeOutputTokens}. */
export function computeUsage(messages: unknown, content: readonly ContentBlockPlan[]): FakeUsage {
  return {
    input_tokens: computeInputTokens(messages),
    output_tokens: computeOutputTokens(content),
    cache_creation_input_tokens: FAKE_CACHE_CREATION_INPUT_TOKENS,
    cache_read_input_tokens: FAKE_CACHE_READ_INPUT_TOKENS,
  };
}
