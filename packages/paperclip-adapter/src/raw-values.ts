/**
 * Helpers for reading untyped input (`unknown`: Paperclip's config and context records, parsed JSON): guards, the
 * "not set" rule of the config form, a trimmed-text reader, and a short description of a value for messages.
 */

/** Short description of a raw value for messages (never the value itself when it is long). */
export function describeValue(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'an array';
  if (typeof raw === 'string') return raw.length > 40 ? `a string of ${raw.length} characters` : JSON.stringify(raw);
  if (typeof raw === 'object') return 'an object';
  if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') return `${typeof raw} ${raw}`;
  return typeof raw;
}

/** True for a plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when a raw value counts as "not set": `undefined`, `null` or a blank string. */
export function isUnset(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

/** The trimmed text of a non-blank string; `null` for anything else (blank strings, non-strings). */
export function readText(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}
