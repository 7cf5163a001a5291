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

const NEWLINE = 0x0a;

/** Default longest line kept: 16 MiB (characters of text input, bytes of byte input). */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

/** Options of {@link createLineSplitter}. */
export interface LineSplitterOptions {
  /**
   * Longest line kept, in characters of text input or bytes of byte input (the same for ASCII). A longer line is
   * dropped as it arrives (never held whole, so one line without a newline cannot grow memory without bound) and
   * reported to `onOversizedLine` once its end (its newline, or the end of input) is seen; the lines after it go on
   * as usual. @default {@link DEFAULT_MAX_LINE_LENGTH}
   */
  maxLineLength?: number;
  /** Receives each dropped line's length (same unit as `maxLineLength`) and its first characters. */
  onOversizedLine?: (length: number, head: string) => void;
}

/** How many characters of a dropped line are kept for its report. */
const OVERSIZED_HEAD_LENGTH = 120;

/**
 * Creates a {@link LineSplitter}.
 *
 * Byte chunks are split on the newline byte first and each line is decoded on its own: in UTF-8 the byte 0x0A never
 * occurs inside a multibyte character, so a line's bytes are always whole characters, and only the partial last line
 * is carried (as bytes) into the next chunk. Decoding line by line, rather than the whole chunk at once, keeps the
 * text alive at any moment down to one line instead of one chunk (64 KiB from a file or a pod log), so V8 does not
 * see enough surviving bytes to grow its young generation on long inputs (docs/decisions/stream-json-memory.md).
 */
export function createLineSplitter(options: LineSplitterOptions = {}): LineSplitter {
  const maxLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  /** Length of the line being dropped so far; -1 while no line is being dropped. */
  let dropped = -1;
  let droppedHead = '';
  // `ignoreBOM`: a U+FEFF that starts a line stays in it (and makes the line a parse error, as any stray character
  // does); only a byte-order mark at the very start of the input is dropped, below.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let atStart = true;
  // The partial last line is `carryText` followed by the bytes in `carryBytes` (copies: a caller may reuse its
  // buffers once `push` returns). A string chunk decodes the carried bytes into `carryText` first, so order holds.
  let carryText = '';
  let carryBytes: Uint8Array[] = [];
  let carryByteLength = 0;

  function takeCarriedBytes(last?: Uint8Array): string {
    if (carryByteLength === 0) return last === undefined ? '' : decoder.decode(last);
    const bytes = new Uint8Array(carryByteLength + (last?.length ?? 0));
    let offset = 0;
    for (const piece of carryBytes) {
      bytes.set(piece, offset);
      offset += piece.length;
    }
    if (last !== undefined) bytes.set(last, offset);
    carryBytes = [];
    carryByteLength = 0;
    return decoder.decode(bytes);
  }

  /** Starts dropping the carried partial line (it has grown past the limit). */
  function startDropping(extra: number, extraHead: string): void {
    const carried = carryText.length + carryByteLength;
    const carriedHead = carryText.length > 0 ? carryText : decoder.decode(carryBytes[0] ?? new Uint8Array());
    droppedHead = (carriedHead + extraHead).slice(0, OVERSIZED_HEAD_LENGTH);
    dropped = carried + extra;
    carryText = '';
    carryBytes = [];
    carryByteLength = 0;
  }

  /** The end of a dropped line: report it, and go back to keeping lines. */
  function endDropping(rest: number): void {
    const length = dropped + rest;
    dropped = -1;
    options.onOversizedLine?.(length, droppedHead);
    droppedHead = '';
  }

  function pushText(text: string, onLine: LineHandler): void {
    let start = 0;
    let newline = text.indexOf('\n');
    if (dropped >= 0) {
      if (newline === -1) {
        dropped += text.length;
        return;
      }
      endDropping(newline);
      pushText(text.slice(newline + 1), onLine);
      return;
    }
    if (newline === -1) {
      if (carryText.length + text.length > maxLength) startDropping(text.length, text.slice(0, OVERSIZED_HEAD_LENGTH));
      else carryText += text;
      return;
    }
    if (carryText.length > 0) {
      if (carryText.length + newline > maxLength)
        options.onOversizedLine?.(carryText.length + newline, carryText.slice(0, OVERSIZED_HEAD_LENGTH));
      else emitOne(carryText + text.slice(0, newline), onLine);
      carryText = '';
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    while (newline !== -1) {
      if (newline - start > maxLength)
        options.onOversizedLine?.(newline - start, text.slice(start, Math.min(newline, start + OVERSIZED_HEAD_LENGTH)));
      else emitOne(text.slice(start, newline), onLine);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    carryText = start < text.length ? text.slice(start) : '';
    if (carryText.length > maxLength) startDropping(0, '');
  }

  function pushBytes(bytes: Uint8Array, onLine: LineHandler): void {
    let start = 0;
    let newline = bytes.indexOf(NEWLINE);
    if (dropped >= 0) {
      if (newline === -1) {
        dropped += bytes.length;
        return;
      }
      endDropping(newline);
      pushBytes(bytes.subarray(newline + 1), onLine);
      return;
    }
    if (newline !== -1 && (carryText.length > 0 || carryByteLength > 0)) {
      const length = carryText.length + carryByteLength + newline;
      const head = takeCarriedBytes(length > maxLength ? bytes.subarray(0, 0) : bytes.subarray(0, newline));
      if (length > maxLength) options.onOversizedLine?.(length, (carryText + head).slice(0, OVERSIZED_HEAD_LENGTH));
      else emitOne(carryText + head, onLine);
      carryText = '';
      start = newline + 1;
      newline = bytes.indexOf(NEWLINE, start);
    }
    while (newline !== -1) {
      if (newline - start > maxLength)
        options.onOversizedLine?.(
          newline - start,
          decoder.decode(bytes.subarray(start, Math.min(newline, start + OVERSIZED_HEAD_LENGTH))),
        );
      else emitOne(decoder.decode(bytes.subarray(start, newline)), onLine);
      start = newline + 1;
      newline = bytes.indexOf(NEWLINE, start);
    }
    if (start < bytes.length && carryText.length + carryByteLength + bytes.length - start > maxLength) {
      startDropping(bytes.length - start, decoder.decode(bytes.subarray(start, start + OVERSIZED_HEAD_LENGTH)));
    } else if (start < bytes.length) {
      // A copy (`slice` of a Node.js Buffer would be a view).
      const rest = new Uint8Array(bytes.length - start);
      rest.set(bytes.subarray(start));
      carryBytes.push(rest);
      carryByteLength += rest.length;
    }
  }

  return {
    push(chunk, onLine) {
      if (typeof chunk === 'string') {
        // Mixed input: bytes carried so far come first (a character they leave unfinished becomes U+FFFD).
        if (carryByteLength > 0) carryText += takeCarriedBytes();
        atStart &&= chunk.length === 0;
        pushText(chunk, onLine);
        return;
      }
      let bytes = chunk;
      if (atStart && bytes.length > 0) {
        atStart = false;
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      }
      pushBytes(bytes, onLine);
    },
    end() {
      if (dropped >= 0) endDropping(0);
      const last = carryText + takeCarriedBytes();
      carryText = '';
      if (last.length === 0) return undefined;
      return last.endsWith('\r') ? last.slice(0, -1) : last;
    },
  };
}

function emitOne(line: string, onLine: LineHandler): void {
  onLine(line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
}
