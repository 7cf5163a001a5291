/** One input chunk: text, or UTF-8 bytes split anywhere (even inside a multibyte character). */
export type StreamChunk = string | Uint8Array;

/** Receives each complete line (without its `\n` or `\r\n`). */
export type LineHandler = (line: string) => void;

/**
 * Splits chunks into lines. Carries a partial last line and any split multibyte UTF-8 character into the next
 * chunk. Pure: no IO, no Node.js APIs (uses the web-standard `TextDecoder`).
 */
export interface LineSplitter {
  /** Feed one chunk; `onLine` is called for every line it completes. */
  push(chunk: StreamChunk, onLine: LineHandler): void;
  /**
   * Signal the end of input. Returns the final line when the input did not end with a newline (it is not passed
   * to `onLine`), or `undefined`.
   */
  end(onLine: LineHandler): string | undefined;
}

/** Creates a {@link LineSplitter}. */
export function createLineSplitter(): LineSplitter {
  let decoder: InstanceType<typeof TextDecoder> | undefined;
  let carry = '';

  function emitLines(text: string, onLine: LineHandler): void {
    let start = 0;
    let newline = text.indexOf('\n');
    if (newline === -1) {
      carry += text;
      return;
    }
    if (carry.length > 0) {
      emitOne(carry + text.slice(0, newline), onLine);
      carry = '';
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    while (newline !== -1) {
      emitOne(text.slice(start, newline), onLine);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    carry = start < text.length ? text.slice(start) : '';
  }

  return {
    push(chunk, onLine) {
      if (typeof chunk === 'string') {
        if (decoder !== undefined) {
          // Mixed input: flush any pending bytes first, so order is kept.
          const pending = decoder.decode();
          if (pending.length > 0) emitLines(pending, onLine);
        }
        emitLines(chunk, onLine);
        return;
      }
      decoder ??= new TextDecoder('utf-8');
      emitLines(decoder.decode(chunk, { stream: true }), onLine);
    },
    end(onLine) {
      if (decoder !== undefined) {
        const rest = decoder.decode();
        if (rest.length > 0) emitLines(rest, onLine);
      }
      const last = carry;
      carry = '';
      if (last.length === 0) return undefined;
      return last.endsWith('\r') ? last.slice(0, -1) : last;
    },
  };
}

function emitOne(line: string, onLine: LineHandler): void {
  onLine(line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
}
