/**
 * Parsers for values as Paperclip's config form stores them: a real JSON value, the same value as JSON text (a text
 * area), or plain text with one item per line.
 */
import type { ParseContext } from './config-field-schema.ts';
import { describeValue, isRecord } from './raw-values.ts';
import { errorMessage } from './error-message.ts';

/**
 * Parses a JSON text when the raw value is a string that looks like JSON (starts with `{` or `[`); otherwise returns
 * it unchanged. Invalid JSON is an issue at `path` and `{ ok: false }`.
 */
export function parseJsonText(
  raw: unknown,
  path: string,
  context: ParseContext,
): { ok: true; value: unknown } | { ok: false } {
  if (typeof raw !== 'string') return { ok: true, value: raw };
  const text = raw.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return { ok: true, value: raw };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    context.issues.push({
      path,
      message: `expected valid JSON: ${errorMessage(error)}`,
    });
    return { ok: false };
  }
}

/** Parses a list of strings: a JSON array, a JSON text, or text with one item per line. */
export function parseStringList(raw: unknown, path: string, context: ParseContext): string[] | undefined {
  const parsed = parseJsonText(raw, path, context);
  if (!parsed.ok) return undefined;
  if (typeof parsed.value === 'string') {
    return parsed.value
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }
  if (!Array.isArray(parsed.value)) {
    context.issues.push({ path, message: `expected a list of strings, got ${describeValue(raw)}` });
    return undefined;
  }
  const output: string[] = [];
  for (const [index, item] of parsed.value.entries()) {
    if (typeof item !== 'string') {
      context.issues.push({ path: `${path}.${index}`, message: `expected a string, got ${describeValue(item)}` });
      return undefined;
    }
    output.push(item);
  }
  return output;
}

/** Parses a JSON object (or its text); `allowedKeys` restricts the top-level keys when given. */
export function parseJsonObject(what: string, allowedKeys?: readonly string[]) {
  return (raw: unknown, path: string, context: ParseContext): Record<string, unknown> | undefined => {
    const parsed = parseJsonText(raw, path, context);
    if (!parsed.ok) return undefined;
    if (!isRecord(parsed.value)) {
      context.issues.push({ path, message: `expected ${what} (a JSON object), got ${describeValue(raw)}` });
      return undefined;
    }
    if (allowedKeys !== undefined) {
      const unknown = Object.keys(parsed.value).filter((key) => !allowedKeys.includes(key));
      if (unknown.length > 0) {
        for (const key of unknown)
          context.issues.push({
            path: `${path}.${key}`,
            message: `unknown field (expected ${allowedKeys.join(', ')})`,
          });
        return undefined;
      }
    }
    return parsed.value;
  };
}
