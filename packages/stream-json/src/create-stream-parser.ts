import { StreamParseError } from './stream-json-error.ts';
import { createLineSplitter, DEFAULT_MAX_LINE_LENGTH, type StreamChunk } from './line-splitter.ts';
import { parseJsonLine } from './parse-line.ts';
import type { StreamEvent } from './stream-event.ts';
import { translateMessage } from './translate-message.ts';

/** Options of {@link createStreamParser}. */
export interface StreamParserOptions {
  /**
   * Receive each event as soon as its line is parsed, instead of in the arrays `push` and `end` return (they are
   * then always empty). Saves the per-chunk array and lets each parsed line be garbage right away.
   */
  onEvent?: (event: StreamEvent) => void;
  /**
   * Longest line parsed (characters of text input, bytes of byte input). A longer line is dropped as it arrives and
   * becomes a `parse-error` with reason `too-long` and its `droppedLength`; the lines after it are parsed as usual.
   * @default 16 MiB
   */
  maxLineLength?: number;
}

/** Incremental parser: chunks in, events out. */
export interface StreamParser {
  /**
   * Feed one chunk (text, or UTF-8 bytes split anywhere). Returns the events of the lines it completed (an empty
   * array when an `onEvent` callback was given).
   */
  push(chunk: StreamChunk): StreamEvent[];
  /**
   * End of input. Returns the events of a final line that had no newline: parsed normally when it is complete
   * JSON, else a `parse-error` with reason `truncated`. Calling `push` after `end` starts a new line count.
   */
  end(): StreamEvent[];
  /** Lines seen so far (blank lines included). */
  readonly lineCount: number;
  /** `parse-error` events emitted so far. */
  readonly parseErrorCount: number;
}

/** Creates a {@link StreamParser}: chunks → lines → JSON values → typed events, all pure. */
export function createStreamParser(options: StreamParserOptions = {}): StreamParser {
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const newSplitter = () =>
    createLineSplitter({
      maxLineLength,
      onOversizedLine: (length, head) => {
        lineNumber++;
        parseErrorCount++;
        emit({
          type: 'parse-error',
          lineNumber,
          reason: 'too-long',
          line: head,
          droppedLength: length,
          message: `a line of ${length} characters is longer than the limit of ${maxLineLength} and was dropped`,
        });
      },
    });
  let lineNumber = 0;
  let parseErrorCount = 0;
  let out: StreamEvent[] = [];
  const onEvent = options.onEvent;
  const emit =
    onEvent ??
    ((event: StreamEvent): void => {
      out.push(event);
    });
  let splitter = newSplitter();
  const onLine = (line: string): void => {
    handleLine(line, false);
  };
  function handleLine(line: string, truncated: boolean): void {
    lineNumber++;
    const parsed = parseJsonLine(line, lineNumber, truncated);
    if (parsed.success === true) translateMessage(parsed.value, lineNumber, emit, line);
    else if (parsed.success === false) {
      parseErrorCount++;
      emit(parsed.error);
    }
  }
  return {
    push(chunk) {
      out = [];
      splitter.push(chunk, onLine);
      return out;
    },
    end() {
      out = [];
      const last = splitter.end(onLine);
      if (last !== undefined) handleLine(last, true);
      const events = out;
      splitter = newSplitter();
      lineNumber = 0;
      return events;
    },
    get lineCount() {
      return lineNumber;
    },
    get parseErrorCount() {
      return parseErrorCount;
    },
  };
}

/**
 * Parses one complete line synchronously (for UIs that receive lines one at a time). Never throws.
 *
 * @param line - one line of stream-json, without its line ending
 * @param lineNumber - 1-based line number to put on the events
 * @default lineNumber 1
 */
export function parseLine(line: string, lineNumber = 1): StreamEvent[] {
  const parsed = parseJsonLine(line, lineNumber);
  if (parsed.success === 'blank') return [];
  if (parsed.success === false) return [parsed.error];
  const events: StreamEvent[] = [];
  translateMessage(parsed.value, lineNumber, (event) => events.push(event), line);
  return events;
}

/** Anything with a web-stream style `getReader()` (a `ReadableStream`), typed structurally. */
export interface ReadableStreamLike<T> {
  getReader(): { read(): Promise<{ done: true; value?: unknown } | { done: false; value: T }>; releaseLock(): void };
}

/** Input accepted by {@link parseStream}: an async (or sync) iterable of chunks, a web `ReadableStream`, or one string. */
export type ChunkSource = AsyncIterable<StreamChunk> | Iterable<StreamChunk> | ReadableStreamLike<StreamChunk>;

async function* readerChunks(stream: ReadableStreamLike<StreamChunk>): AsyncGenerator<StreamChunk> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
}

function isReadableStreamLike(source: ChunkSource): source is ReadableStreamLike<StreamChunk> {
  return typeof (source as Partial<ReadableStreamLike<StreamChunk>>).getReader === 'function';
}

/**
 * Parses a whole stream, yielding events as lines complete. Accepts any async iterable of chunks (a Node.js
 * readable stream is one) or a web `ReadableStream`.
 */
export async function* parseStream(source: ChunkSource): AsyncGenerator<StreamEvent, void, undefined> {
  const parser = createStreamParser();
  const iterable: AsyncIterable<StreamChunk> | Iterable<StreamChunk> =
    typeof source === 'string'
      ? [source]
      : Symbol.asyncIterator in source || Symbol.iterator in source
        ? (source as AsyncIterable<StreamChunk>)
        : isReadableStreamLike(source)
          ? readerChunks(source)
          : (source as AsyncIterable<StreamChunk>);
  for await (const chunk of iterable) {
    const events = parser.push(chunk);
    for (const event of events) yield event;
  }
  yield* parser.end();
}

/**
 * Like {@link parseLine}, but throws a {@link StreamParseError} for a line that is not a JSON object, instead of
 * returning a `parse-error` event.
 */
export function parseLineStrict(line: string, lineNumber = 1): StreamEvent[] {
  const events = parseLine(line, lineNumber);
  const first = events[0];
  if (first !== undefined && first.type === 'parse-error')
    throw new StreamParseError(
      first.lineNumber,
      first.line,
      first.reason === 'not-an-object' ? first.message : `${first.reason}: ${first.message}`,
    );
  return events;
}
