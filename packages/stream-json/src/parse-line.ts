import type { ParseErrorEvent } from './stream-event.ts';
import { errorMessage } from './error-message.ts';

/** The result of {@link parseJsonLine}: a JSON object, a parse error, or `blank` for an empty line. */
export type JsonLineResult =
  { success: true; value: Record<string, unknown> } | { success: false; error: ParseErrorEvent } | { success: 'blank' };

const BLANK: JsonLineResult = { success: 'blank' };

/**
 * Parses one line of stream-json into a JSON object. Never throws: text that is not JSON, or JSON that is not an
 * object, becomes a `parse-error` event with the line number and the raw text. A line of only whitespace is
 * `blank` (Claude Code prints none; readers such as Paperclip's UI skip them too).
 *
 * @param line - the line without its line ending
 * @param lineNumber - 1-based line number, carried into the error
 * @param truncated - true for an unterminated last line: a parse failure is then reported as `truncated`
 */
export function parseJsonLine(line: string, lineNumber: number, truncated = false): JsonLineResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    if (line.trim().length === 0) return BLANK;
    return {
      success: false,
      error: {
        type: 'parse-error',
        lineNumber,
        reason: truncated ? 'truncated' : 'invalid-json',
        line,
        message: errorMessage(error),
      },
    };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return { success: true, value: value as Record<string, unknown> };
  }
  return {
    success: false,
    error: {
      type: 'parse-error',
      lineNumber,
      reason: 'not-an-object',
      line,
      message: `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    },
  };
}
