/**
 * Encode one server-sent event the way the Anthropic Messages API does: an `event:` line naming the event, one
 * `data:` line holding the JSON payload (whose `type` repeats the event name), and a blank line.
 */
export function encodeSseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Split `text` into pieces of at most `size` UTF-16 code units, never inside a surrogate pair. */
export function splitIntoChunks(text: string, size: number): string[] {
  if (text === '') return [''];
  const step = Math.max(1, Math.floor(size));
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + step);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end += 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}
