/** UTF-8 helpers for delivering text without splitting a multibyte character. */

/**
 * The length of the longest prefix of `bytes` that does not end inside a multibyte sequence: at most 3 trailing
 * bytes are held back, and only when they are the start of a sequence that is still incomplete. Invalid bytes are
 * never held (they decode to U+FFFD wherever they are).
 */
export function completeUtf8Length(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let index = length - 1, back = 0; index >= 0 && back < 4; index--, back++) {
    const byte = bytes[index] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const needed =
      byte < 0x80 ? 1 : (byte & 0xe0) === 0xc0 ? 2 : (byte & 0xf0) === 0xe0 ? 3 : (byte & 0xf8) === 0xf0 ? 4 : 1;
    return length - index >= needed ? length : index;
  }
  return length;
}
