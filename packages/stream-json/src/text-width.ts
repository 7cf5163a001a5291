/**
 * Terminal column widths, approximately as terminals draw them: East Asian wide and fullwidth characters and most
 * emoji take two columns; combining marks, zero-width characters, variation selectors and skin-tone modifiers take
 * none. Slicing works on whole code points, so surrogate pairs are never split.
 */

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const COMBINING_MARK = /\p{M}/u;

/** Columns one code point takes. */
function codePointWidth(codePoint: number): number {
  if (codePoint < 0x300) return codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0) ? 0 : 1;
  if (
    codePoint === 0x200b ||
    codePoint === 0x200c ||
    codePoint === 0x200d ||
    codePoint === 0x2060 ||
    codePoint === 0xfeff
  )
    return 0;
  if (
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f) ||
    (codePoint >= 0x1f3fb && codePoint <= 0x1f3ff) ||
    (codePoint >= 0xe0000 && codePoint <= 0xe01ef)
  )
    return 0;
  if (COMBINING_MARK.test(String.fromCodePoint(codePoint))) return 0;
  if (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf && codePoint !== 0x303f) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f1e6 && codePoint <= 0x1f1ff) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1f64f) ||
    (codePoint >= 0x1f680 && codePoint <= 0x1f6ff) ||
    (codePoint >= 0x1f900 && codePoint <= 0x1f9ff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns a string takes (no line breaks expected). */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const character of text) width += codePointWidth(character.codePointAt(0) ?? 0);
  return width;
}

/** The string cut to at most `columns` columns, ending with `…` when something was cut. */
export function truncateToWidth(text: string, columns: number): string {
  if (PRINTABLE_ASCII.test(text)) return text.length > columns ? `${text.slice(0, Math.max(0, columns - 1))}…` : text;
  if (displayWidth(text) <= columns) return text;
  let width = 0;
  let out = '';
  for (const character of text) {
    const characterWidth = codePointWidth(character.codePointAt(0) ?? 0);
    if (width + characterWidth > columns - 1) break;
    width += characterWidth;
    out += character;
  }
  return `${out}…`;
}

/** One line wrapped to `columns` columns: breaks after the last space that fits, else inside a long word. */
export function wrapToWidth(line: string, columns: number): string[] {
  if (PRINTABLE_ASCII.test(line)) {
    if (line.length <= columns) return [line];
    const pieces: string[] = [];
    let start = 0;
    while (start < line.length) {
      let end = Math.min(line.length, start + columns);
      if (end < line.length) {
        const space = line.lastIndexOf(' ', end);
        if (space > start) end = space + 1;
      }
      pieces.push(line.slice(start, end).trimEnd());
      start = end;
    }
    return pieces;
  }
  if (displayWidth(line) <= columns) return [line];
  const pieces: string[] = [];
  let current = '';
  let width = 0;
  let lastSpace = -1;
  for (const character of line) {
    const characterWidth = codePointWidth(character.codePointAt(0) ?? 0);
    if (width + characterWidth > columns && current.length > 0) {
      if (lastSpace > 0) {
        pieces.push(current.slice(0, lastSpace).trimEnd());
        current = current.slice(lastSpace + 1);
      } else {
        pieces.push(current);
        current = '';
      }
      width = displayWidth(current);
      lastSpace = -1;
      // A space at a hard break is the break itself.
      if (character === ' ' && current.length === 0) continue;
    }
    if (character === ' ') lastSpace = current.length;
    current += character;
    width += characterWidth;
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}
