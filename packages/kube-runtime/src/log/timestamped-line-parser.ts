/**
 * Bytes → timestamped lines, for the body of `pods/log?timestamps=true`. The kubelet writes every output line as
 * `<RFC3339Nano timestamp> <content>\n` (partial CRI records are joined first, so one line has one timestamp); the last
 * line of a finished container may lack its newline. The parser is incremental: a timestamp split across chunks is
 * carried, content bytes are passed through as zero-copy views as soon as they arrive.
 */

/** One piece of parsed output. */
export type TimestampedPiece =
  /**
   * `timestamp: null` only for the first line of a response that has no timestamp: the kubelet prefixes only the
   * first CRI record of a line, so a replay from `sinceTime` starts with the headless tail of a line that began
   * before `sinceTime` and ended after it.
   */
  { kind: 'line-start'; timestamp: string | null } | { kind: 'content'; bytes: Uint8Array; endsLine: boolean };

const SPACE = 0x20;
const NEWLINE = 0x0a;
/** RFC3339Nano with offset is at most 35 bytes; anything longer before a space is not a timestamp. */
const MAX_TIMESTAMP_BYTES = 40;

/** Thrown when the body does not start a line with a timestamp (the server ignored `timestamps=true`). */
export class TimestampFormatError extends Error {
  override name = 'TimestampFormatError';
}

/** An incremental parser; `push` returns the pieces found in one chunk. */
export interface TimestampedLineParser {
  push(chunk: Uint8Array): TimestampedPiece[];
  /** True when the stream stopped inside a line's timestamp (bytes carried but not yet a piece). */
  readonly inTimestamp: boolean;
}

export function createTimestampedLineParser(): TimestampedLineParser {
  let atLineStart = true;
  let firstLine = true;
  let stampBytes: number[] = [];
  const decoder = new TextDecoder();
  return {
    get inTimestamp() {
      return stampBytes.length > 0;
    },
    push(chunk) {
      const pieces: TimestampedPiece[] = [];
      let index = 0;
      while (index < chunk.length) {
        if (atLineStart) {
          const space = chunk.indexOf(SPACE, index);
          if (!firstLine && stampBytes.length === 0 && space !== -1 && space - index <= MAX_TIMESTAMP_BYTES) {
            // Fast path: the whole timestamp is in this chunk (ASCII, so char codes are bytes).
            const stamp = String.fromCharCode(...chunk.subarray(index, space));
            if (!stamp.includes('\n')) {
              pieces.push({ kind: 'line-start', timestamp: normalizeTimestamp(stamp) });
              atLineStart = false;
              index = space + 1;
              continue;
            }
          }
          const end = space === -1 ? Math.min(chunk.length, index + MAX_TIMESTAMP_BYTES + 1) : space;
          for (let position = index; position < end; position++) stampBytes.push(chunk[position] ?? 0);
          const invalid =
            stampBytes.length > MAX_TIMESTAMP_BYTES ||
            stampBytes.includes(NEWLINE) ||
            (space !== -1 && !isTimestamp(decoder.decode(Uint8Array.from(stampBytes))));
          if (invalid) {
            const head = Uint8Array.from(stampBytes);
            if (!firstLine)
              throw new TimestampFormatError(
                `expected a timestamp at the start of a log line, got ${JSON.stringify(decoder.decode(head).slice(0, 60))}`,
              );
            // A headless first line: its bytes so far are content; go on from where the timestamp search stopped.
            pieces.push({ kind: 'line-start', timestamp: null });
            firstLine = false;
            atLineStart = false;
            stampBytes = [];
            const newline = head.indexOf(NEWLINE);
            if (newline !== -1) {
              pieces.push({ kind: 'content', bytes: head.subarray(0, newline + 1), endsLine: true });
              atLineStart = true;
              index = end - (head.length - newline - 1);
            } else {
              pieces.push({ kind: 'content', bytes: head, endsLine: false });
              index = end;
            }
            continue;
          }
          if (space === -1) {
            if (end < chunk.length) continue; // cannot happen: end < length only when over the limit
            return pieces;
          }
          pieces.push({
            kind: 'line-start',
            timestamp: normalizeTimestamp(decoder.decode(Uint8Array.from(stampBytes))),
          });
          firstLine = false;
          stampBytes = [];
          atLineStart = false;
          index = space + 1;
          continue;
        }
        const newline = chunk.indexOf(NEWLINE, index);
        if (newline === -1) {
          pieces.push({ kind: 'content', bytes: chunk.subarray(index), endsLine: false });
          return pieces;
        }
        pieces.push({ kind: 'content', bytes: chunk.subarray(index, newline + 1), endsLine: true });
        atLineStart = true;
        index = newline + 1;
      }
      return pieces;
    },
  };
}

function isTimestamp(text: string): boolean {
  return FIXED.test(text);
}

const FIXED_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;
const FIXED = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A timestamp in the fixed-width UTC form `2026-11-24T13:41:21.329421177Z`, so that timestamps compare as strings.
 * The kubelet already writes this form (`RFC3339NanoFixed`); other offsets are converted to UTC.
 */
export function normalizeTimestamp(text: string): string {
  if (text.length === 30 && FIXED_UTC.test(text)) return text;
  const match = FIXED.exec(text);
  if (!match) throw new TimestampFormatError(`not an RFC3339 timestamp: ${JSON.stringify(text.slice(0, 60))}`);
  const [, seconds = '', fraction = '', zone = 'Z'] = match;
  const nanos = fraction.padEnd(9, '0');
  if (zone === 'Z') return `${seconds}.${nanos}Z`;
  const utc = new Date(`${seconds}${zone}`).toISOString().slice(0, 19);
  return `${utc}.${nanos}Z`;
}

/** The whole second a normalized timestamp falls in, as the apiserver's `sinceTime` (RFC3339, seconds). */
export function secondOf(timestamp: string): string {
  return `${timestamp.slice(0, 19)}Z`;
}
