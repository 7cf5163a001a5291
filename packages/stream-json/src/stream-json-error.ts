const MARKER = Symbol.for('claude-k8s.stream-json.error');

/**
 * Base class of every error thrown by `@claude-k8s/stream-json`.
 *
 * Use {@link StreamJsonError.isInstance} rather than `instanceof`: the check still works when two copies of the
 * package are installed.
 */
export class StreamJsonError extends Error {
  readonly [MARKER] = true;
  override readonly name: string = 'StreamJsonError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** True when `value` is a `StreamJsonError` (or subclass) from any copy of this package. */
  static isInstance(value: unknown): value is StreamJsonError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/**
 * A line of stream-json output that could not be parsed. The streaming parser never throws this (it emits a
 * `parse-error` event instead); {@link parseLineStrict} does.
 */
export class StreamParseError extends StreamJsonError {
  override readonly name: string = 'StreamParseError';
  /** 1-based line number in the input. */
  readonly lineNumber: number;
  /** The raw text of the line (without its line ending). */
  readonly line: string;

  constructor(lineNumber: number, line: string, reason: string, options?: { cause?: unknown }) {
    super(
      `parse stream-json line ${lineNumber}: ${reason}: ${line.length > 120 ? `${line.slice(0, 120)}…` : line}`,
      options,
    );
    this.lineNumber = lineNumber;
    this.line = line;
  }
}
